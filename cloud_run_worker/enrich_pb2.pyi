from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Reason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REASON_UNSPECIFIED: _ClassVar[Reason]
    REASON_INVALID_CANDIDATE: _ClassVar[Reason]
    REASON_UPSTREAM_RATE_LIMITED: _ClassVar[Reason]
    REASON_UPSTREAM_UNAVAILABLE: _ClassVar[Reason]
    REASON_UPSTREAM_BAD_OUTPUT: _ClassVar[Reason]
    REASON_TIMEOUT: _ClassVar[Reason]
    REASON_INTERNAL: _ClassVar[Reason]
    REASON_UPSTREAM_REJECTED_INPUT: _ClassVar[Reason]
REASON_UNSPECIFIED: Reason
REASON_INVALID_CANDIDATE: Reason
REASON_UPSTREAM_RATE_LIMITED: Reason
REASON_UPSTREAM_UNAVAILABLE: Reason
REASON_UPSTREAM_BAD_OUTPUT: Reason
REASON_TIMEOUT: Reason
REASON_INTERNAL: Reason
REASON_UPSTREAM_REJECTED_INPUT: Reason

class EnrichRequest(_message.Message):
    __slots__ = ("job_id", "tenant_id", "candidate_id", "candidate_json", "attempt")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_JSON_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    tenant_id: str
    candidate_id: str
    candidate_json: bytes
    attempt: int
    def __init__(self, job_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., candidate_id: _Optional[str] = ..., candidate_json: _Optional[bytes] = ..., attempt: _Optional[int] = ...) -> None: ...

class EnrichResponse(_message.Message):
    __slots__ = ("enrichment_json", "model_version", "prompt_version", "enricher", "processing_seconds", "token_usage", "provider_pause_ms")
    ENRICHMENT_JSON_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    PROMPT_VERSION_FIELD_NUMBER: _ClassVar[int]
    ENRICHER_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_USAGE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_PAUSE_MS_FIELD_NUMBER: _ClassVar[int]
    enrichment_json: bytes
    model_version: str
    prompt_version: str
    enricher: str
    processing_seconds: float
    token_usage: TokenUsage
    provider_pause_ms: int
    def __init__(self, enrichment_json: _Optional[bytes] = ..., model_version: _Optional[str] = ..., prompt_version: _Optional[str] = ..., enricher: _Optional[str] = ..., processing_seconds: _Optional[float] = ..., token_usage: _Optional[_Union[TokenUsage, _Mapping]] = ..., provider_pause_ms: _Optional[int] = ...) -> None: ...

class TokenUsage(_message.Message):
    __slots__ = ("prompt_tokens", "completion_tokens", "total_tokens")
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    def __init__(self, prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., total_tokens: _Optional[int] = ...) -> None: ...

class EnrichBatchRequest(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[EnrichRequest]
    def __init__(self, items: _Optional[_Iterable[_Union[EnrichRequest, _Mapping]]] = ...) -> None: ...

class EnrichBatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[EnrichBatchResult]
    def __init__(self, results: _Optional[_Iterable[_Union[EnrichBatchResult, _Mapping]]] = ...) -> None: ...

class EnrichBatchResult(_message.Message):
    __slots__ = ("response", "error")
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    response: EnrichResponse
    error: EnrichError
    def __init__(self, response: _Optional[_Union[EnrichResponse, _Mapping]] = ..., error: _Optional[_Union[EnrichError, _Mapping]] = ...) -> None: ...

class EnrichError(_message.Message):
    __slots__ = ("reason", "message", "retryable", "retry_after_ms", "token_usage")
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_USAGE_FIELD_NUMBER: _ClassVar[int]
    reason: Reason
    message: str
    retryable: bool
    retry_after_ms: int
    token_usage: TokenUsage
    def __init__(self, reason: _Optional[_Union[Reason, str]] = ..., message: _Optional[str] = ..., retryable: _Optional[bool] = ..., retry_after_ms: _Optional[int] = ..., token_usage: _Optional[_Union[TokenUsage, _Mapping]] = ...) -> None: ...

class DescribeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DescribeResponse(_message.Message):
    __slots__ = ("model_version", "prompt_version", "enricher", "pid", "rss_bytes", "jobs_served", "call_limit_ms", "workload", "max_concurrency")
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    PROMPT_VERSION_FIELD_NUMBER: _ClassVar[int]
    ENRICHER_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    RSS_BYTES_FIELD_NUMBER: _ClassVar[int]
    JOBS_SERVED_FIELD_NUMBER: _ClassVar[int]
    CALL_LIMIT_MS_FIELD_NUMBER: _ClassVar[int]
    WORKLOAD_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    model_version: str
    prompt_version: str
    enricher: str
    pid: int
    rss_bytes: int
    jobs_served: int
    call_limit_ms: int
    workload: str
    max_concurrency: int
    def __init__(self, model_version: _Optional[str] = ..., prompt_version: _Optional[str] = ..., enricher: _Optional[str] = ..., pid: _Optional[int] = ..., rss_bytes: _Optional[int] = ..., jobs_served: _Optional[int] = ..., call_limit_ms: _Optional[int] = ..., workload: _Optional[str] = ..., max_concurrency: _Optional[int] = ...) -> None: ...
