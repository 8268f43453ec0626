// lattice-xds: a small xDS management server (envoyproxy/go-control-plane) that serves Lattice's services to
// proxyless gRPC clients (targets xds:///<service>): Listener, RouteConfiguration, Cluster and ClusterLoadAssignment
// per service, from a JSON file that is re-read when it changes, or through an HTTP API.
//
//	lattice-xds -config services.json [-xds 127.0.0.1:18000] [-api 127.0.0.1:18001]
//
// It exits 0 on SIGTERM or SIGINT after stopping both listeners.
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	clusterservice "github.com/envoyproxy/go-control-plane/envoy/service/cluster/v3"
	discoverygrpc "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	endpointservice "github.com/envoyproxy/go-control-plane/envoy/service/endpoint/v3"
	listenerservice "github.com/envoyproxy/go-control-plane/envoy/service/listener/v3"
	routeservice "github.com/envoyproxy/go-control-plane/envoy/service/route/v3"
	xdsserver "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
)

func main() {
	xdsAddress := flag.String("xds", "127.0.0.1:18000", "address of the xDS (gRPC) server")
	apiAddress := flag.String("api", "127.0.0.1:18001", "address of the HTTP API; empty for none")
	file := flag.String("config", "", "JSON configuration, re-read when it changes; empty to start with no services")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	if err := run(log, *xdsAddress, *apiAddress, *file); err != nil {
		log.Error("lattice-xds failed", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger, xdsAddress, apiAddress, file string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	served := NewServed(log)
	if file != "" {
		if err := applyFile(served, file); err != nil {
			return err
		}
		go watch(ctx, log, served, file)
	} else if err := served.Apply(Config{Services: map[string]Service{}}); err != nil {
		return err
	}

	grpcServer := grpc.NewServer()
	xds := xdsserver.NewServer(ctx, served.cache, nil)
	discoverygrpc.RegisterAggregatedDiscoveryServiceServer(grpcServer, xds)
	listenerservice.RegisterListenerDiscoveryServiceServer(grpcServer, xds)
	routeservice.RegisterRouteDiscoveryServiceServer(grpcServer, xds)
	clusterservice.RegisterClusterDiscoveryServiceServer(grpcServer, xds)
	endpointservice.RegisterEndpointDiscoveryServiceServer(grpcServer, xds)
	listener, err := net.Listen("tcp", xdsAddress)
	if err != nil {
		return err
	}
	failed := make(chan error, 2)
	go func() { failed <- grpcServer.Serve(listener) }()

	var api *http.Server
	apiBound := ""
	if apiAddress != "" {
		api = &http.Server{Handler: API(served), ReadHeaderTimeout: 5 * time.Second}
		apiListener, err := net.Listen("tcp", apiAddress)
		if err != nil {
			return err
		}
		apiBound = apiListener.Addr().String()
		go func() { failed <- api.Serve(apiListener) }()
	}
	// The bound addresses, so a caller that asked for port 0 learns the real ones.
	log.Info("serving", "xds", listener.Addr().String(), "api", apiBound)

	select {
	case <-ctx.Done():
	case err := <-failed:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	// Clients keep their last configuration when the control plane goes away; streams are simply closed.
	grpcServer.Stop()
	if api != nil {
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = api.Shutdown(shutdown)
	}
	log.Info("stopped")
	return nil
}

func applyFile(served *Served, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return errors.New(file + ": " + err.Error())
	}
	return served.Apply(cfg)
}

// watch re-reads the file when its modification time or size changes; a bad edit is logged and not served.
func watch(ctx context.Context, log *slog.Logger, served *Served, file string) {
	last, _ := os.Stat(file)
	ticker := time.NewTicker(250 * time.Millisecond)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		info, err := os.Stat(file)
		if err != nil || (last != nil && info.ModTime().Equal(last.ModTime()) && info.Size() == last.Size()) {
			continue
		}
		last = info
		if err := applyFile(served, file); err != nil {
			log.Warn("configuration not applied", "err", err)
		}
	}
}
