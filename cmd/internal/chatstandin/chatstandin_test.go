package chatstandin

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// post sends one chat completion request to s and returns the answer.
func post(t *testing.T, s *Server) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(s.BaseURL+"/chat/completions", "application/json",
		strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hello"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestAnswersAreChatCompletionsWithTheirLength(t *testing.T) {
	s, err := Start(Config{Content: `{"overall_score":0.5}`, CompletionTokens: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp, body := post(t, s)
	if resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(body)) {
		t.Fatalf("status %d, Content-Length %d for %d bytes", resp.StatusCode, resp.ContentLength, len(body))
	}
	var answer struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
		Usage struct {
			PromptTokens     int64 `json:"prompt_tokens"`
			CompletionTokens int64 `json:"completion_tokens"`
			TotalTokens      int64 `json:"total_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	u := answer.Usage
	if len(answer.Choices) != 1 || answer.Choices[0].Message.Content != `{"overall_score":0.5}` ||
		u.CompletionTokens != 7 || u.PromptTokens == 0 || u.TotalTokens != u.PromptTokens+7 {
		t.Fatalf("answer %s", body)
	}
}

func TestEveryAnswerSaysWhereTheLimitStands(t *testing.T) {
	// 60 a minute with one second of burst: one request now, the next a second later.
	s, err := Start(Config{Content: "{}", RPM: 60, TPM: 600_000, BurstSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp, _ := post(t, s)
	h := resp.Header
	if resp.StatusCode != http.StatusOK || h.Get("x-ratelimit-limit") != "60" || h.Get("x-ratelimit-remaining") != "0" ||
		h.Get("x-tokenlimit-limit") != "600000" || h.Get("x-tokenlimit-remaining") == "" {
		t.Fatalf("status %d, headers %v", resp.StatusCode, h)
	}
	reset, err := strconv.ParseFloat(h.Get("x-ratelimit-reset"), 64)
	if err != nil || reset <= 0 || reset > 1 {
		t.Fatalf("x-ratelimit-reset %q: want the seconds until the next request, in (0, 1]", h.Get("x-ratelimit-reset"))
	}
	resp, _ = post(t, s)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" ||
		resp.Header.Get("x-ratelimit-remaining") != "0" {
		t.Fatalf("second request: status %d, headers %v", resp.StatusCode, resp.Header)
	}
}
