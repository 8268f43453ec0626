package main

import (
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Config is what the server serves: the services gRPC clients reach as xds:///<name>.
//
//	{"services": {"payment": {
//	    "endpoints": [{"address": "10.0.0.7", "port": 50051}, {"address": "10.0.0.8", "port": 50051, "weight": 2}],
//	    "timeoutMs": 2000,
//	    "retry": {"retryOn": ["unavailable"], "numRetries": 2, "baseIntervalMs": 25, "maxIntervalMs": 250}}}}
type Config struct {
	Services map[string]Service `json:"services"`
}

// Service is one xds:///<name> target.
type Service struct {
	// Endpoints are the replicas, all in one locality.
	Endpoints []Endpoint `json:"endpoints"`
	// TimeoutMs becomes the route's max_stream_duration: the deadline of calls that carry a later one (or none).
	// gRPC clients ignore Envoy's route `timeout`; grpc-js-xds reads max_stream_duration.
	TimeoutMs uint32 `json:"timeoutMs,omitempty"`
	// Retry becomes the route's retry_policy (gRFC A44).
	Retry *Retry `json:"retry,omitempty"`
}

// Endpoint is one replica; Weight 0 means 1.
type Endpoint struct {
	Address string `json:"address"`
	Port    uint32 `json:"port"`
	Weight  uint32 `json:"weight,omitempty"`
}

// Retry is a route retry policy. gRPC clients honour the codes cancelled, deadline-exceeded, internal,
// resource-exhausted and unavailable.
type Retry struct {
	RetryOn        []string `json:"retryOn"`
	NumRetries     uint32   `json:"numRetries"`
	BaseIntervalMs uint32   `json:"baseIntervalMs,omitempty"`
	MaxIntervalMs  uint32   `json:"maxIntervalMs,omitempty"`
}

var (
	serviceName = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)
	retryCodes  = map[string]bool{"cancelled": true, "deadline-exceeded": true, "internal": true,
		"resource-exhausted": true, "unavailable": true}
)

// ParseConfig reads a configuration and checks it, naming the service and field of every problem.
func ParseConfig(data []byte) (Config, error) {
	var cfg Config
	decoder := json.NewDecoder(strings.NewReader(string(data)))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&cfg); err != nil {
		return Config{}, fmt.Errorf("not a valid configuration: %w", err)
	}
	if cfg.Services == nil {
		cfg.Services = map[string]Service{}
	}
	return cfg, cfg.Check()
}

// Check returns every problem of the configuration at once, or nil.
func (cfg Config) Check() error {
	var problems []string
	for _, name := range cfg.Names() {
		svc := cfg.Services[name]
		if !serviceName.MatchString(name) {
			problems = append(problems, fmt.Sprintf("%q: not a service name (a DNS label)", name))
		}
		for i, ep := range svc.Endpoints {
			if net.ParseIP(ep.Address) == nil {
				problems = append(problems, fmt.Sprintf("%s.endpoints[%d].address: %q is not an IP address", name, i, ep.Address))
			}
			if ep.Port == 0 || ep.Port > 65535 {
				problems = append(problems, fmt.Sprintf("%s.endpoints[%d].port: %d is not a port", name, i, ep.Port))
			}
		}
		if svc.Retry != nil {
			for _, code := range svc.Retry.RetryOn {
				if !retryCodes[code] {
					problems = append(problems, fmt.Sprintf("%s.retry.retryOn: %q is not a code gRPC clients retry", name, code))
				}
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// Names are the services in name order.
func (cfg Config) Names() []string {
	names := make([]string, 0, len(cfg.Services))
	for name := range cfg.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func millis(ms uint32) time.Duration { return time.Duration(ms) * time.Millisecond }
