package pyplugin

import (
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
)

// MaxMessageBytes is the largest message either side of the plugin connection
// accepts, in both directions; gRPC's own default is 4 MiB, less than a batch of
// large candidates, or one candidate when MAX_BODY_BYTES is raised. It must
// match MAX_MESSAGE_BYTES in cloud_run_worker/plugin_server.py.
const MaxMessageBytes = 64 << 20

// BatchBytes is the most request bytes one EnrichBatch call carries. The limit
// that matters is MaxMessageBytes; this one keeps a batch of large candidates
// from holding one process (and every caller in it) for as long as sixteen calls
// would. A candidate larger than this goes in a call of its own.
const BatchBytes = 4 << 20

// DialOptions are the options the host's connection to a plugin needs
// (plugin.ClientConfig.GRPCDialOptions).
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithDefaultCallOptions(
		grpc.MaxCallRecvMsgSize(MaxMessageBytes),
		grpc.MaxCallSendMsgSize(MaxMessageBytes),
	)}
}

// SplitBatch splits items, in order, into runs of at most BatchBytes each (an
// item larger than that is a run alone), so no EnrichBatch call outgrows what a
// plugin accepts.
func SplitBatch(items []*enrichv1.EnrichRequest) [][]*enrichv1.EnrichRequest {
	var runs [][]*enrichv1.EnrichRequest
	start, size := 0, 0
	for i, item := range items {
		n := proto.Size(item)
		if i > start && size+n > BatchBytes {
			runs = append(runs, items[start:i])
			start, size = i, 0
		}
		size += n
	}
	if start < len(items) {
		runs = append(runs, items[start:])
	}
	return runs
}
