package metrics

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"google.golang.org/api/option"
	metricpb "google.golang.org/genproto/googleapis/api/metric"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
)

// fakeMetricService is Cloud Monitoring's MetricService on a loopback gRPC
// server. It records every CreateTimeSeries request and refuses what the real
// API refuses: more than 200 series in a call, a series twice in one call,
// a point less than 5 s after the series' previous one, a metric whose kind
// or value type changes, a CUMULATIVE point whose start moves or is not
// before its end, a GAUGE point with a start other than its end.
type fakeMetricService struct {
	monitoringpb.UnimplementedMetricServiceServer

	mu       sync.Mutex
	requests []*monitoringpb.CreateTimeSeriesRequest // the calls it accepted
	failNext int                                     // calls to refuse with Unavailable
	calls    int
	last     map[string]*monitoringpb.TimeInterval // by series key
	kinds    map[string]string                     // by metric type: kind/value type
}

// startFakeMetricService serves a fakeMetricService on 127.0.0.1:0 until the
// test ends, and returns the client options that reach it.
func startFakeMetricService(t *testing.T) (*fakeMetricService, []option.ClientOption) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeMetricService{last: map[string]*monitoringpb.TimeInterval{}, kinds: map[string]string{}}
	srv := grpc.NewServer()
	monitoringpb.RegisterMetricServiceServer(srv, fake)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-served
	})
	return fake, []option.ClientOption{
		option.WithEndpoint(ln.Addr().String()),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	}
}

func (f *fakeMetricService) CreateTimeSeries(_ context.Context, req *monitoringpb.CreateTimeSeriesRequest) (*emptypb.Empty, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.failNext > 0 {
		f.failNext--
		return nil, status.Error(codes.Unavailable, "try again later")
	}
	if n := len(req.GetTimeSeries()); n == 0 || n > 200 {
		return nil, status.Errorf(codes.InvalidArgument, "%d time series in one request, want 1..200", n)
	}
	seen := map[string]bool{}
	for _, ts := range req.GetTimeSeries() {
		key := seriesKey(ts)
		if seen[key] {
			return nil, status.Errorf(codes.InvalidArgument, "series %s twice in one request", key)
		}
		seen[key] = true
		if err := f.check(key, ts); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
	}
	for _, ts := range req.GetTimeSeries() {
		f.last[seriesKey(ts)] = ts.GetPoints()[0].GetInterval()
		f.kinds[ts.GetMetric().GetType()] = ts.GetMetricKind().String() + "/" + ts.GetValueType().String()
	}
	f.requests = append(f.requests, proto.Clone(req).(*monitoringpb.CreateTimeSeriesRequest))
	return &emptypb.Empty{}, nil
}

func (f *fakeMetricService) check(key string, ts *monitoringpb.TimeSeries) error {
	if len(ts.GetPoints()) != 1 {
		return fmt.Errorf("%s: %d points, want exactly 1", key, len(ts.GetPoints()))
	}
	kind := ts.GetMetricKind().String() + "/" + ts.GetValueType().String()
	if was, ok := f.kinds[ts.GetMetric().GetType()]; ok && was != kind {
		return fmt.Errorf("%s: kind %s, but the metric is %s", key, kind, was)
	}
	in := ts.GetPoints()[0].GetInterval()
	end := in.GetEndTime().AsTime()
	switch ts.GetMetricKind() {
	case metricpb.MetricDescriptor_CUMULATIVE:
		if !in.GetStartTime().AsTime().Before(end) {
			return fmt.Errorf("%s: cumulative start %v not before end %v", key, in.GetStartTime().AsTime(), end)
		}
	case metricpb.MetricDescriptor_GAUGE:
		if in.GetStartTime() != nil && !in.GetStartTime().AsTime().Equal(end) {
			return fmt.Errorf("%s: gauge start differs from end", key)
		}
	default:
		return fmt.Errorf("%s: metric kind %s", key, ts.GetMetricKind())
	}
	if last, ok := f.last[key]; ok {
		if end.Sub(last.GetEndTime().AsTime()) < 5*time.Second {
			return fmt.Errorf("%s: written more often than the maximum sampling period (5 s)", key)
		}
		if ts.GetMetricKind() == metricpb.MetricDescriptor_CUMULATIVE && !proto.Equal(last.GetStartTime(), in.GetStartTime()) {
			return fmt.Errorf("%s: cumulative start time moved", key)
		}
	}
	return nil
}

// seriesKey identifies a series: its metric type, metric labels and resource.
func seriesKey(ts *monitoringpb.TimeSeries) string {
	parts := []string{ts.GetMetric().GetType(), ts.GetResource().GetType()}
	for _, labels := range []map[string]string{ts.GetMetric().GetLabels(), ts.GetResource().GetLabels()} {
		keys := make([]string, 0, len(labels))
		for k := range labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			parts = append(parts, k+"="+labels[k])
		}
	}
	return strings.Join(parts, ",")
}

// snapshot returns the accepted requests and the number of calls so far.
func (f *fakeMetricService) snapshot() (requests []*monitoringpb.CreateTimeSeriesRequest, calls int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*monitoringpb.CreateTimeSeriesRequest(nil), f.requests...), f.calls
}

func (f *fakeMetricService) refuseNext(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext = n
}
