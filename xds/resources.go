package main

import (
	"strconv"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Snapshot turns a configuration into the four kinds of resources a proxyless gRPC client asks for, per service
// <name>: a Listener named <name> (the host of xds:///<name>) whose api_listener is an HttpConnectionManager
// fetching its routes over ADS, with the router filter last; a RouteConfiguration <name> sending everything to the
// Cluster <name> (with the service's timeout and retry policy); the EDS Cluster; and its ClusterLoadAssignment, one
// locality with a load_balancing_weight (gRPC ignores localities without one).
//
// Snapshot.Consistent() is not called: it rejects api_listener Listeners, which reference routes in a way it does
// not follow.
func Snapshot(cfg Config, version uint64) (*cache.Snapshot, error) {
	var listeners, routes, clusters, endpoints []types.Resource
	for _, name := range cfg.Names() {
		svc := cfg.Services[name]
		listener, err := apiListener(name)
		if err != nil {
			return nil, err
		}
		listeners = append(listeners, listener)
		routes = append(routes, route(name, svc))
		clusters = append(clusters, &clusterv3.Cluster{
			Name:                 name,
			ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS},
			EdsClusterConfig:     &clusterv3.Cluster_EdsClusterConfig{EdsConfig: overADS()},
			LbPolicy:             clusterv3.Cluster_ROUND_ROBIN,
		})
		endpoints = append(endpoints, loadAssignment(name, svc))
	}
	return cache.NewSnapshot(strconv.FormatUint(version, 10), map[resource.Type][]types.Resource{
		resource.ListenerType: listeners,
		resource.RouteType:    routes,
		resource.ClusterType:  clusters,
		resource.EndpointType: endpoints,
	})
}

func overADS() *corev3.ConfigSource {
	return &corev3.ConfigSource{
		ResourceApiVersion:    resource.DefaultAPIVersion,
		ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
	}
}

func apiListener(name string) (*listenerv3.Listener, error) {
	router, err := anypb.New(&routerv3.Router{})
	if err != nil {
		return nil, err
	}
	manager, err := anypb.New(&hcmv3.HttpConnectionManager{
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{ConfigSource: overADS(), RouteConfigName: name}},
		HttpFilters:    []*hcmv3.HttpFilter{{Name: "router", ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: router}}},
	})
	if err != nil {
		return nil, err
	}
	return &listenerv3.Listener{Name: name, ApiListener: &listenerv3.ApiListener{ApiListener: manager}}, nil
}

func route(name string, svc Service) *routev3.RouteConfiguration {
	action := &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: name}}
	if svc.TimeoutMs > 0 {
		action.MaxStreamDuration = &routev3.RouteAction_MaxStreamDuration{
			MaxStreamDuration: durationpb.New(millis(svc.TimeoutMs)),
		}
	}
	if r := svc.Retry; r != nil {
		policy := &routev3.RetryPolicy{RetryOn: joinCodes(r.RetryOn), NumRetries: wrapperspb.UInt32(r.NumRetries)}
		if r.BaseIntervalMs > 0 {
			policy.RetryBackOff = &routev3.RetryPolicy_RetryBackOff{BaseInterval: durationpb.New(millis(r.BaseIntervalMs))}
			if r.MaxIntervalMs > 0 {
				policy.RetryBackOff.MaxInterval = durationpb.New(millis(r.MaxIntervalMs))
			}
		}
		action.RetryPolicy = policy
	}
	return &routev3.RouteConfiguration{Name: name, VirtualHosts: []*routev3.VirtualHost{{
		Name:    name,
		Domains: []string{"*"},
		Routes: []*routev3.Route{{
			Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: ""}},
			Action: &routev3.Route_Route{Route: action},
		}},
	}}}
}

func loadAssignment(name string, svc Service) *endpointv3.ClusterLoadAssignment {
	var lb []*endpointv3.LbEndpoint
	for _, ep := range svc.Endpoints {
		weight := ep.Weight
		if weight == 0 {
			weight = 1
		}
		lb = append(lb, &endpointv3.LbEndpoint{
			HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
				Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
					Address:       ep.Address,
					PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: ep.Port},
				}}},
			}},
			LoadBalancingWeight: wrapperspb.UInt32(weight),
		})
	}
	return &endpointv3.ClusterLoadAssignment{ClusterName: name, Endpoints: []*endpointv3.LocalityLbEndpoints{{
		Locality:            &corev3.Locality{},
		LoadBalancingWeight: wrapperspb.UInt32(1),
		LbEndpoints:         lb,
	}}}
}

func joinCodes(codes []string) string {
	joined := ""
	for i, code := range codes {
		if i > 0 {
			joined += ","
		}
		joined += code
	}
	return joined
}
