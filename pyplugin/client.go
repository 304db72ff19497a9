package pyplugin

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-plugin"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
)

// Client calls one plugin process. Every method takes the caller's ctx as its
// deadline: a hung process costs at most that long.
type Client struct {
	rpc    enrichv1.EnricherClient
	health healthpb.HealthClient
	exited <-chan struct{}
}

// Enrich enriches one candidate. Errors are *Error values, or wrap ErrProcessGone
// when the process died or its connection broke.
func (c *Client) Enrich(ctx context.Context, req *enrichv1.EnrichRequest) (*enrichv1.EnrichResponse, error) {
	resp, err := c.rpc.Enrich(ctx, req)
	if err != nil {
		return nil, c.translate(ctx, err)
	}
	return resp, nil
}

// EnrichBatch enriches many candidates in one call. Per-item failures are in the
// response; an error means the call as a whole failed.
func (c *Client) EnrichBatch(ctx context.Context, req *enrichv1.EnrichBatchRequest) (*enrichv1.EnrichBatchResponse, error) {
	resp, err := c.rpc.EnrichBatch(ctx, req)
	if err != nil {
		return nil, c.translate(ctx, err)
	}
	return resp, nil
}

// Describe reports the process's versions, pid, memory and jobs served.
func (c *Client) Describe(ctx context.Context) (*enrichv1.DescribeResponse, error) {
	resp, err := c.rpc.Describe(ctx, &enrichv1.DescribeRequest{})
	if err != nil {
		return nil, c.translate(ctx, err)
	}
	return resp, nil
}

// Ping asks the process's gRPC health service whether the plugin is serving. It uses
// the caller's deadline, unlike go-plugin's own Ping.
func (c *Client) Ping(ctx context.Context) error {
	resp, err := c.health.Check(ctx, &healthpb.HealthCheckRequest{Service: healthServiceName})
	if err != nil {
		return c.translate(ctx, err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("pyplugin: plugin health is %s: %w", resp.GetStatus(), ErrProcessGone)
	}
	return nil
}

// Exited is closed once the plugin process has exited.
func (c *Client) Exited() <-chan struct{} { return c.exited }

// translate turns a gRPC failure into the package's error vocabulary.
func (c *Client) translate(ctx context.Context, err error) error {
	select {
	case <-c.exited:
		return fmt.Errorf("pyplugin: process exited during the call: %w", ErrProcessGone)
	default:
	}
	return fromStatus(ctx, err)
}

// Dispense connects to a started go-plugin client and returns the enricher in it.
func Dispense(pc *plugin.Client) (*Client, error) {
	protocol, err := pc.Client()
	if err != nil {
		return nil, fmt.Errorf("pyplugin: connect to plugin: %w", err)
	}
	raw, err := protocol.Dispense(PluginName)
	if err != nil {
		return nil, fmt.Errorf("pyplugin: dispense %q: %w", PluginName, err)
	}
	client, ok := raw.(*Client)
	if !ok {
		return nil, fmt.Errorf("pyplugin: dispensed %T, want *pyplugin.Client", raw)
	}
	return client, nil
}
