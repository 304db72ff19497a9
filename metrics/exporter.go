package metrics

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	monitoring "cloud.google.com/go/monitoring/apiv3/v2"
	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"github.com/hashicorp/go-hclog"
	"google.golang.org/api/option"
)

const (
	// ExportIntervalDefault is how often the exporter writes when
	// ExporterConfig.Interval is zero.
	ExportIntervalDefault = 10 * time.Second
	// ExportIntervalMin is the shortest Interval allowed. Cloud Monitoring
	// takes at most one point per series every 5 s; the reference wrote one
	// per event and had writes refused (REFERENCE W23). Twice that leaves
	// room for clock jitter between runs.
	ExportIntervalMin = 10 * time.Second
	// ServiceNameDefault is the service label when ExporterConfig.ServiceName
	// is empty (SERVICE_NAME's default).
	ServiceNameDefault = "hh-enrich-svc"

	// maxSeriesPerRequest is CreateTimeSeries's limit on series per call.
	maxSeriesPerRequest = 200
	// errorLogEvery bounds how often failed writes are logged: while the API
	// refuses us every run fails the same way.
	errorLogEvery = time.Minute
)

// ErrExporterConfig is wrapped by NewExporter's errors for a bad ExporterConfig.
var ErrExporterConfig = errors.New("metrics: bad exporter config")

// ExporterConfig configures an Exporter. Zero values take defaults, except
// ProjectID.
type ExporterConfig struct {
	// ProjectID is the Google Cloud project written to (required).
	ProjectID string
	// ServiceName is the `service` label on every series; ServiceNameDefault
	// if empty.
	ServiceName string
	// InstanceID is the `instance_id` label on every series. Replicas must
	// differ: two processes writing one series would break the per-series
	// write limit and make each other's cumulative counters jump. Default: a
	// random id per process, which also matches the counters' lifetime.
	InstanceID string
	// Interval is the time between writes of each series; ExportIntervalDefault
	// if zero, at least ExportIntervalMin.
	Interval time.Duration
	// Logger receives failed writes (at most once per minute); silent if nil.
	Logger hclog.Logger
	// Now is the clock for point timestamps and the write interval; time.Now
	// if nil.
	Now func() time.Time
	// ClientOptions are passed to the Cloud Monitoring client. Empty in
	// production (Application Default Credentials); tests point it at a local
	// server with option.WithEndpoint, insecure gRPC credentials and
	// option.WithoutAuthentication.
	ClientOptions []option.ClientOption
}

// Exporter is a background duty that writes the service's metrics to Cloud
// Monitoring as custom.googleapis.com/hh_enrich/<name> series (REFERENCE §7's
// names), read from the Prometheus registry every Interval and sent in
// batched CreateTimeSeries calls, on resource global{project_id} with the
// labels service and instance_id. Counters are CUMULATIVE series starting at
// the exporter's creation; latency and the embed success ratio are GAUGEs over
// the last interval.
type Exporter struct {
	metrics *Metrics
	client  *monitoring.MetricClient
	cfg     ExporterConfig // defaults applied
	start   time.Time      // start time of every CUMULATIVE point

	lifecycle sync.Mutex
	started   bool
	stopped   bool
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once

	run     sync.Mutex // one runOnce at a time; guards what follows
	lastRun time.Time
	window  windowState
	errLog  errorLimiter
}

// NewExporter returns an Exporter reading m, with a Cloud Monitoring client
// made from cfg.ClientOptions; Start starts it and Stop closes the client. It
// fails with ErrExporterConfig for a nil m, an empty ProjectID or an Interval
// below ExportIntervalMin, or with the client's error (such as missing
// credentials).
func NewExporter(ctx context.Context, m *Metrics, cfg ExporterConfig) (*Exporter, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(m); err != nil {
		return nil, err
	}
	client, err := monitoring.NewMetricClient(ctx, cfg.ClientOptions...)
	if err != nil {
		return nil, fmt.Errorf("metrics: cloud monitoring client: %w", err)
	}
	return &Exporter{metrics: m, client: client, cfg: cfg, start: cfg.Now(), errLog: errorLimiter{log: cfg.Logger}}, nil
}

func (c ExporterConfig) withDefaults() ExporterConfig {
	c.ServiceName = cmp.Or(c.ServiceName, ServiceNameDefault)
	c.Interval = cmp.Or(c.Interval, ExportIntervalDefault)
	if c.InstanceID == "" {
		c.InstanceID = randomInstanceID()
	}
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func (c ExporterConfig) validate(m *Metrics) error {
	switch {
	case m == nil:
		return fmt.Errorf("%w: no Metrics", ErrExporterConfig)
	case c.ProjectID == "":
		return fmt.Errorf("%w: ProjectID is empty", ErrExporterConfig)
	case c.Interval < ExportIntervalMin:
		return fmt.Errorf("%w: Interval is %s, want at least %s (Cloud Monitoring's per-series write limit)",
			ErrExporterConfig, c.Interval, ExportIntervalMin)
	}
	return nil
}

func randomInstanceID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b)
}

// Start starts the exporter's goroutine, which writes every Interval until
// ctx is done or Stop is called. It returns at once; an error means a second
// Start, or a Start after Stop.
func (e *Exporter) Start(ctx context.Context) error {
	e.lifecycle.Lock()
	defer e.lifecycle.Unlock()
	switch {
	case e.stopped:
		return errors.New("metrics: exporter stopped; its client is closed")
	case e.started:
		return errors.New("metrics: exporter already started")
	}
	ctx, e.cancel = context.WithCancel(ctx)
	e.done = make(chan struct{})
	e.started = true
	go e.loop(ctx, e.done)
	return nil
}

// Stop stops the exporter, waits for a write in progress, and closes the
// Cloud Monitoring client. Points not yet written are dropped: a last write
// could come sooner than Interval after the previous one and be refused. It
// is safe to call before Start, more than once, and from several goroutines.
func (e *Exporter) Stop() {
	e.lifecycle.Lock()
	e.stopped = true
	cancel, done := e.cancel, e.done
	e.lifecycle.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	e.closeOnce.Do(func() {
		if err := e.client.Close(); err != nil {
			e.cfg.Logger.Debug("closing the cloud monitoring client", "error", err)
		}
	})
}

func (e *Exporter) loop(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	// A timer reset after each run, not a ticker: a run that starts late
	// must still be a whole Interval after the one before, or runOnce would
	// skip it as too early.
	timer := time.NewTimer(e.cfg.Interval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		_, _ = e.runOnce(ctx) // failures are logged, rate-limited, inside
		timer.Reset(e.cfg.Interval)
	}
}

// runOnce gathers the registry and writes every series that has data, unless
// the last run was less than Interval ago (then it writes nothing). It
// returns how many series went out, and the write errors joined: each batch
// is sent even when an earlier one fails.
func (e *Exporter) runOnce(ctx context.Context) (int, error) {
	e.run.Lock()
	defer e.run.Unlock()
	now := e.cfg.Now()
	if !e.lastRun.IsZero() && now.Sub(e.lastRun) < e.cfg.Interval {
		return 0, nil
	}
	// The interval counts from the attempt, not from success: a failed
	// request may still have stored some of its points.
	e.lastRun = now
	// Gather returns what it could read beside an error (a collector that
	// failed, say): that much is still exported.
	families, gerr := e.metrics.Registry().Gather()
	if gerr != nil {
		gerr = fmt.Errorf("gather: %w", gerr)
	}
	series := e.buildSeries(families, now)
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Interval)
	defer cancel()
	written, werr := e.write(ctx, series)
	err := errors.Join(gerr, werr)
	e.errLog.report(now, err)
	return written, err
}

// write sends series in requests of at most maxSeriesPerRequest.
func (e *Exporter) write(ctx context.Context, series []*monitoringpb.TimeSeries) (int, error) {
	var errs []error
	written := 0
	for len(series) > 0 {
		n := min(len(series), maxSeriesPerRequest)
		err := e.client.CreateTimeSeries(ctx, &monitoringpb.CreateTimeSeriesRequest{
			Name:       "projects/" + e.cfg.ProjectID,
			TimeSeries: series[:n],
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("CreateTimeSeries (%d series): %w", n, err))
		} else {
			written += n
		}
		series = series[n:]
	}
	return written, errors.Join(errs...)
}

// errorLimiter logs export failures at most once per errorLogEvery, with how
// many it left out, and the first success after a failure.
type errorLimiter struct {
	log        hclog.Logger
	lastLogged time.Time
	suppressed int
	failing    bool
}

func (l *errorLimiter) report(now time.Time, err error) {
	switch {
	case err == nil && l.failing:
		l.log.Info("cloud monitoring export works again", "failures_not_logged", l.suppressed)
		l.failing, l.suppressed = false, 0
	case err == nil:
	case l.lastLogged.IsZero() || now.Sub(l.lastLogged) >= errorLogEvery:
		l.log.Warn("cloud monitoring export failed; retrying every interval", "error", err,
			"failures_not_logged", l.suppressed)
		l.failing, l.lastLogged, l.suppressed = true, now, 0
	default:
		l.failing = true
		l.suppressed++
	}
}
