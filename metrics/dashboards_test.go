package metrics

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	dto "github.com/prometheus/client_model/go"
)

const (
	cloudDashboardPath   = "../config/monitoring/enrich-service-dashboard.json"
	grafanaDashboardPath = "../config/monitoring/grafana-dashboard.json"
)

func TestCloudMonitoringDashboard(t *testing.T) {
	t.Parallel()
	var dash struct {
		DisplayName  string `json:"displayName"`
		MosaicLayout struct {
			Columns int `json:"columns"`
			Tiles   []struct {
				XPos, YPos, Width, Height int
				Widget                    struct {
					Title   string `json:"title"`
					XYChart *struct {
						DataSets []struct {
							TimeSeriesQuery map[string]json.RawMessage `json:"timeSeriesQuery"`
						} `json:"dataSets"`
					} `json:"xyChart"`
					LogsPanel *struct {
						Filter string `json:"filter"`
					} `json:"logsPanel"`
				} `json:"widget"`
			} `json:"tiles"`
		} `json:"mosaicLayout"`
	}
	readJSON(t, cloudDashboardPath, &dash)
	exported := exportedKinds(t)
	type query struct{ panel, metric, aligner string }
	var queries []query
	var logFilters []string
	for _, tile := range dash.MosaicLayout.Tiles {
		switch w := tile.Widget; {
		case w.LogsPanel != nil:
			logFilters = append(logFilters, w.LogsPanel.Filter)
		case w.XYChart != nil:
			for _, ds := range w.XYChart.DataSets {
				name, aligner := cloudQuery(t, w.Title, ds.TimeSeriesQuery)
				queries = append(queries, query{w.Title, name, aligner})
			}
		default:
			t.Fatalf("%q: neither a chart nor a logs panel", w.Title)
		}
	}

	t.Run("HasTheReferencesSixPanels", func(t *testing.T) {
		var titles []string
		for _, tile := range dash.MosaicLayout.Tiles {
			titles = append(titles, tile.Widget.Title)
		}
		want := []string{"Job Latency (p50/p95/p99)", "Job Throughput & Failures", "Queue Depth", "Embedding Service Health",
			"Tenant Utilization", "Recent Job Failures"}
		if dash.DisplayName != "Enrichment Service Overview" || !slices.Equal(titles, want) {
			t.Fatalf("dashboard %q with panels %q, want %q", dash.DisplayName, titles, want)
		}
	})

	t.Run("TilesFitTheGridWithoutOverlapping", func(t *testing.T) {
		tiles := dash.MosaicLayout.Tiles
		for i, a := range tiles {
			if a.Width <= 0 || a.Height <= 0 || a.XPos < 0 || a.XPos+a.Width > dash.MosaicLayout.Columns {
				t.Errorf("%q does not fit %d columns", a.Widget.Title, dash.MosaicLayout.Columns)
			}
			for _, b := range tiles[i+1:] {
				if a.XPos < b.XPos+b.Width && b.XPos < a.XPos+a.Width && a.YPos < b.YPos+b.Height && b.YPos < a.YPos+a.Height {
					t.Errorf("%q overlaps %q", a.Widget.Title, b.Widget.Title)
				}
			}
		}
	})

	t.Run("QueriesOnlyExportedMetricsAlignedForTheirKind", func(t *testing.T) {
		for _, q := range queries {
			kind, ok := exported[q.metric]
			if !ok {
				t.Errorf("%q queries %s, which the exporter does not write", q.panel, q.metric)
				continue
			}
			// W23: a rate of a gauge, or the mean of a counter, is noise.
			rate := q.aligner == "ALIGN_RATE" || q.aligner == "ALIGN_DELTA"
			if (kind == "CUMULATIVE") != rate {
				t.Errorf("%q aligns %s (%s) with %s", q.panel, q.metric, kind, q.aligner)
			}
		}
	})

	t.Run("ShowsEveryExportedMetric", func(t *testing.T) {
		for name := range exported {
			if !slices.ContainsFunc(queries, func(q query) bool { return q.metric == name }) {
				t.Errorf("no panel shows %s", name)
			}
		}
	})

	t.Run("LogPanelMatchesTheDeployedServiceAndJobFailures", func(t *testing.T) {
		if len(logFilters) != 1 {
			t.Fatalf("%d logs panels, want 1", len(logFilters))
		}
		filter := logFilters[0]
		m := regexp.MustCompile(`resource\.labels\.service_name=~"([^"]+)"`).FindStringSubmatch(filter)
		if !strings.Contains(filter, `resource.type="cloud_run_revision"`) || m == nil {
			t.Fatalf("filter %q must select Cloud Run revisions by resource.labels.service_name", filter)
		}
		// The reference matched the bare name while the service was deployed as
		// hh-enrich-svc-production (REFERENCE §7): match both, nothing else.
		service := regexp.MustCompile(m[1])
		for name, want := range map[string]bool{"hh-enrich-svc": true, "hh-enrich-svc-production": true, "hh-search-svc": false} {
			if service.MatchString(name) != want {
				t.Errorf("service_name %q matched = %v, want %v", name, !want, want)
			}
		}
		// hclog writes its level as "@level", which Cloud Logging does not map
		// to severity; job failures are info lines with metric=job_failed.
		for _, want := range []string{`jsonPayload."@level"="error"`, `jsonPayload.metric="job_failed"`, `severity>=ERROR`} {
			if !strings.Contains(filter, want) {
				t.Errorf("filter %q lacks %s", filter, want)
			}
		}
	})
}

// cloudQuery returns the exported metric name and the aligner of one data set,
// which must be a plain time series filter on one custom hh_enrich metric.
func cloudQuery(t *testing.T, title string, query map[string]json.RawMessage) (name, aligner string) {
	t.Helper()
	var filter struct {
		Filter      string `json:"filter"`
		Aggregation struct {
			PerSeriesAligner string `json:"perSeriesAligner"`
		} `json:"aggregation"`
	}
	raw, ok := query["timeSeriesFilter"]
	if len(query) != 1 || !ok {
		t.Fatalf("%q: a data set must be a timeSeriesFilter for this test to check it", title)
	}
	if err := json.Unmarshal(raw, &filter); err != nil {
		t.Fatal(err)
	}
	types := regexp.MustCompile(`metric\.type\s*=\s*"([^"]*)"`).FindAllStringSubmatch(filter.Filter, -1)
	if len(types) != 1 || !strings.HasPrefix(types[0][1], MetricTypePrefix) {
		t.Fatalf("%q: filter %q must name one %s* metric type", title, filter.Filter, MetricTypePrefix)
	}
	return strings.TrimPrefix(types[0][1], MetricTypePrefix), filter.Aggregation.PerSeriesAligner
}

// exportedKinds runs the exporter once on one of everything and returns the
// metric kind of each metric it wrote, by name.
func exportedKinds(t *testing.T) map[string]string {
	t.Helper()
	e, b := setupExporter(t, 10)
	recordEverything(t, b.metrics)
	b.clock.Advance(ExportIntervalDefault)
	if _, err := e.runOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	requests, _ := b.server.snapshot()
	kinds := map[string]string{}
	for _, p := range pointsOf(requests) {
		kinds[p.Type] = p.Kind
	}
	return kinds
}

func TestGrafanaDashboard(t *testing.T) {
	t.Parallel()
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	readJSON(t, grafanaDashboardPath, &dash)
	m := New(Config{Logger: hclog.NewNullLogger()})
	recordEverything(t, m)
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	served := servedSeriesNames(families)
	queried := map[string][]string{} // metric name → panels
	for _, p := range dash.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, target := range p.Targets {
			names := promMetricNames(target.Expr)
			if len(names) == 0 {
				t.Errorf("panel %q: found no metric in %q", p.Title, target.Expr)
			}
			for _, name := range names {
				queried[name] = append(queried[name], p.Title)
			}
		}
	}

	t.Run("QueriesOnlyMetricsTheServiceServes", func(t *testing.T) {
		for name, panels := range queried {
			if served[name] == "" {
				t.Errorf("panels %q query %s, which /metrics does not serve", panels, name)
			}
		}
	})

	t.Run("ShowsEveryServiceMetric", func(t *testing.T) {
		shown := map[string]bool{}
		for name := range queried {
			shown[served[name]] = true
		}
		for _, f := range families {
			if name := f.GetName(); strings.HasPrefix(name, Namespace+"_") && !shown[name] {
				t.Errorf("no panel shows %s", name)
			}
		}
	})
}

// servedSeriesNames maps every series name the registry exposes to its
// family: a histogram or summary family serves name_bucket (histograms only),
// name_sum and name_count too.
func servedSeriesNames(families []*dto.MetricFamily) map[string]string {
	served := map[string]string{}
	for _, f := range families {
		name := f.GetName()
		served[name] = name
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			served[name+"_bucket"] = name
			fallthrough
		case dto.MetricType_SUMMARY:
			served[name+"_sum"], served[name+"_count"] = name, name
		}
	}
	return served
}

var (
	// What in PromQL is not a metric name: strings, label matchers, ranges
	// (with Grafana's $__rate_interval) and grouping label lists.
	promNotNames = []*regexp.Regexp{
		regexp.MustCompile(`"(?:[^"\\]|\\.)*"`),
		regexp.MustCompile(`\{[^}]*\}`),
		regexp.MustCompile(`\[[^\]]*\]`),
		regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`),
	}
	promIdentifier = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promKeywords   = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
		"group_left", "group_right", "inf", "nan"}
)

// promMetricNames returns the metric names in a PromQL expression: the
// identifiers left after removing strings, matchers, ranges and grouping
// lists that are neither calls (followed by "("), keywords, nor parts of
// numbers such as 1e3 or durations such as 5m.
func promMetricNames(expr string) []string {
	for _, re := range promNotNames {
		expr = re.ReplaceAllString(expr, " ")
	}
	var names []string
	for _, loc := range promIdentifier.FindAllStringIndex(expr, -1) {
		ident := expr[loc[0]:loc[1]]
		if loc[0] > 0 && strings.ContainsAny(expr[loc[0]-1:loc[0]], "0123456789.$") {
			continue
		}
		if strings.HasPrefix(strings.TrimLeft(expr[loc[1]:], " \t\n"), "(") || slices.Contains(promKeywords, strings.ToLower(ident)) {
			continue
		}
		names = append(names, ident)
	}
	return names
}

func TestPromMetricNames(t *testing.T) {
	t.Parallel()
	for expr, want := range map[string][]string{
		`histogram_quantile(0.95, sum by (le, route) (rate(a_bucket{x="y{z}"}[$__rate_interval])))`: {"a_bucket"},
		`sum(rate(a_total[5m])) / ignoring (code) b offset 1h > bool 1e3`:                           {"a_total", "b"},
		`max without (instance) (c) or on(tenant) d`:                                                {"c", "d"},
	} {
		if got := promMetricNames(expr); !slices.Equal(got, want) {
			t.Errorf("promMetricNames(%q) = %q, want %q", expr, got, want)
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
