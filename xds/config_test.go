package main

import (
	"strings"
	"testing"

	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
)

func TestParseConfigNamesEveryProblem(t *testing.T) {
	_, err := ParseConfig([]byte(`{"services": {
		"Payment": {"endpoints": []},
		"user": {"endpoints": [{"address": "localhost", "port": 0}], "retry": {"retryOn": ["5xx"], "numRetries": 1}}}}`))
	if err == nil {
		t.Fatal("accepted a bad configuration")
	}
	for _, want := range []string{`"Payment": not a service name`, "user.endpoints[0].address", "user.endpoints[0].port",
		`user.retry.retryOn: "5xx"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if _, err := ParseConfig([]byte(`{"services": {}, "extra": 1}`)); err == nil {
		t.Error("accepted an unknown field")
	}
}

func TestSnapshotHasEveryResourceAServiceNeeds(t *testing.T) {
	cfg, err := ParseConfig([]byte(`{"services": {"payment": {"endpoints": [{"address": "127.0.0.1", "port": 50053}],
		"timeoutMs": 1500, "retry": {"retryOn": ["unavailable"], "numRetries": 2, "baseIntervalMs": 10}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	snapshot, err := Snapshot(cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []resource.Type{resource.ListenerType, resource.RouteType, resource.ClusterType, resource.EndpointType} {
		if got := snapshot.GetResources(kind); len(got) != 1 || got["payment"] == nil {
			t.Errorf("%s: want one resource named payment, got %v", kind, got)
		}
		if snapshot.GetVersion(kind) != "7" {
			t.Errorf("%s: version %q", kind, snapshot.GetVersion(kind))
		}
	}
}
