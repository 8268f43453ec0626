package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// API is the control plane's HTTP interface, for tests and scripts that change what is served while clients run:
//
//	GET  /v1/config              the configuration being served, and its version
//	PUT  /v1/config              replace it (body: a Config); 400 naming every problem, and nothing changes
//	PUT  /v1/services/<name>     add or replace one service (body: a Service)
//	DELETE /v1/services/<name>   stop serving one service
//	GET  /healthz                200 once serving
func API(served *Served) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /v1/config", func(w http.ResponseWriter, _ *http.Request) { writeCurrent(w, served) })
	mux.HandleFunc("PUT /v1/config", func(w http.ResponseWriter, r *http.Request) {
		data, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		cfg, err := ParseConfig(data)
		if err == nil {
			err = served.Apply(cfg)
		}
		respond(w, served, err)
	})
	mux.HandleFunc("PUT /v1/services/{name}", func(w http.ResponseWriter, r *http.Request) {
		var svc Service
		decoder := json.NewDecoder(r.Body)
		decoder.DisallowUnknownFields()
		if err := decoder.Decode(&svc); err != nil {
			http.Error(w, "not a valid service: "+err.Error(), http.StatusBadRequest)
			return
		}
		respond(w, served, served.change(func(cfg Config) { cfg.Services[r.PathValue("name")] = svc }))
	})
	mux.HandleFunc("DELETE /v1/services/{name}", func(w http.ResponseWriter, r *http.Request) {
		respond(w, served, served.change(func(cfg Config) { delete(cfg.Services, r.PathValue("name")) }))
	})
	return mux
}

// change applies an edit to a copy of the current configuration.
func (s *Served) change(edit func(Config)) error {
	current, _ := s.Current()
	next := Config{Services: make(map[string]Service, len(current.Services))}
	for name, svc := range current.Services {
		next.Services[name] = svc
	}
	edit(next)
	return s.Apply(next)
}

func respond(w http.ResponseWriter, served *Served, err error) {
	if err != nil {
		http.Error(w, strings.TrimSpace(err.Error()), http.StatusBadRequest)
		return
	}
	writeCurrent(w, served)
}

func writeCurrent(w http.ResponseWriter, served *Served) {
	cfg, version := served.Current()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"version": version, "config": cfg})
}
