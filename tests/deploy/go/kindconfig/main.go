// Command kindconfig decodes a kind cluster config the way `kind create cluster --config` does (kind's v1alpha4
// types, YAML decoding with unknown fields rejected) and prints it as JSON, with kind's default node image, for
// the cluster-config test to check. A file kind would refuse makes it exit 1 with kind's reason.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kind/pkg/apis/config/defaults"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
)

type typeMeta struct {
	Kind       string `yaml:"kind"`
	APIVersion string `yaml:"apiVersion"`
}

type report struct {
	Config       *v1alpha4.Cluster `json:"config"`
	Defaulted    *v1alpha4.Cluster `json:"defaulted"`
	DefaultImage string            `json:"defaultImage"`
}

func decode(raw []byte) (*v1alpha4.Cluster, error) {
	var tm typeMeta
	if err := yaml.Unmarshal(raw, &tm); err != nil {
		return nil, fmt.Errorf("could not determine kind / apiVersion: %w", err)
	}
	if tm.APIVersion != "kind.x-k8s.io/v1alpha4" || tm.Kind != "Cluster" {
		return nil, fmt.Errorf("unknown apiVersion/kind %q/%q (kind reads kind.x-k8s.io/v1alpha4 Cluster)", tm.APIVersion, tm.Kind)
	}
	// The same decoder settings as kind's loader: unknown fields are an error.
	decoder := yaml.NewDecoder(bytes.NewReader(raw))
	decoder.KnownFields(true)
	cluster := &v1alpha4.Cluster{}
	if err := decoder.Decode(cluster); err != nil {
		return nil, fmt.Errorf("unable to decode config: %w", err)
	}
	return cluster, nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: kindconfig <kind-config.yaml>")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cluster, err := decode(raw)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defaulted, _ := decode(raw)
	v1alpha4.SetDefaultsCluster(defaulted)
	out, err := json.MarshalIndent(report{Config: cluster, Defaulted: defaulted, DefaultImage: defaults.Image}, "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}
