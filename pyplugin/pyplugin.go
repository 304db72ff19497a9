// Package pyplugin is the contract between the Go host and the Python enrichment
// plugins in cloud_run_worker: the go-plugin handshake, the gRPC client glue, and the
// typed errors the host decides retries on.
//
// The protocol itself lives in proto/enrich.proto; enrichv1 holds the generated Go
// code (`make proto` regenerates it together with the Python stubs).
package pyplugin

import (
	"context"
	"errors"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
)

// PluginName is the name the host dispenses the enricher under.
const PluginName = "enricher"

// Handshake must match MAGIC_COOKIE_* and APP_PROTOCOL_VERSION in
// cloud_run_worker/plugin_server.py. The cookie is not security: it only keeps the
// plugin from hanging when someone runs it by hand.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "HH_ENRICH_PLUGIN",
	MagicCookieValue: "hh-enrich-plugin-v1",
}

// healthServiceName is the service the Python plugin registers with the gRPC health
// service, as go-plugin's own plugins do.
const healthServiceName = "plugin"

// GRPCPlugin is the host side of the enricher plugin, for plugin.ClientConfig.Plugins.
// Dispensing it yields a *Client.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

var _ plugin.GRPCPlugin = GRPCPlugin{}

// GRPCServer always fails: the server side is written in Python.
func (GRPCPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("pyplugin: the enricher server is implemented in Python (cloud_run_worker)")
}

// GRPCClient wraps the connection go-plugin made. go-plugin cancels ctx when the
// plugin process exits, which is how the Client learns that its process is gone.
func (GRPCPlugin) GRPCClient(ctx context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return &Client{
		rpc:    enrichv1.NewEnricherClient(conn),
		health: healthpb.NewHealthClient(conn),
		exited: ctx.Done(),
	}, nil
}
