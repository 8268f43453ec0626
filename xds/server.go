package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
)

// group is the one snapshot every client gets, whatever its bootstrap node id: Lattice serves one set of services
// per control plane. (The snapshot cache is keyed by node id otherwise, and answers nodes it has no snapshot for
// with nothing.)
const group = "lattice"

type everyNode struct{}

func (everyNode) ID(*corev3.Node) string { return group }

// Served holds the configuration being served and publishes every change as a new snapshot version.
type Served struct {
	mu      sync.Mutex
	cache   cache.SnapshotCache
	config  Config
	version uint64
	log     *slog.Logger
}

// NewServed makes the snapshot cache. ads=false: with ADS ordering on, go-control-plane withholds EDS and RDS
// answers until the client asks for every resource of the snapshot, and gRPC clients ask only for what they use.
func NewServed(log *slog.Logger) *Served {
	return &Served{cache: cache.NewSnapshotCache(false, everyNode{}, nil), config: Config{Services: map[string]Service{}}, log: log}
}

// Apply serves cfg from now on (clients watching get it at once); the previous configuration stays on error.
func (s *Served) Apply(cfg Config) error {
	if err := cfg.Check(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	snapshot, err := Snapshot(cfg, s.version+1)
	if err != nil {
		return fmt.Errorf("building resources: %w", err)
	}
	if err := s.cache.SetSnapshot(context.Background(), group, snapshot); err != nil {
		return err
	}
	s.version++
	s.config = cfg
	s.log.Info("serving configuration", "version", s.version, "services", cfg.Names())
	return nil
}

// Current is the configuration being served and its version.
func (s *Served) Current() (Config, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.config, s.version
}
