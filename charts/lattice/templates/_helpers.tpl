{{/*
Shared pieces of the Lattice chart. Most templates take a context dict:
  root  the chart's root context ($)
  name  a service name (a key of .Values.services), or "postgresql"/"nats"/"test" for the other components
*/}}

{{/* Labels on every object. */}}
{{- define "lattice.labels" -}}
{{ include "lattice.selectorLabels" . }}
app.kubernetes.io/part-of: lattice
app.kubernetes.io/component: {{ .component | default "service" }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end }}

{{/*
Labels on a pod template: the object labels without the chart and version ones, so that a new chart version that
changes nothing in a pod does not restart it (a new app version comes with a new image, which rolls the pods).
*/}}
{{- define "lattice.podLabels" -}}
{{ include "lattice.selectorLabels" . }}
app.kubernetes.io/part-of: lattice
app.kubernetes.io/component: {{ .component | default "service" }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end }}

{{/* Labels that select one component's pods; never change them on upgrade (selectors are immutable). */}}
{{- define "lattice.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}

{{/* Selects every pod of the release (the default-deny NetworkPolicy). */}}
{{- define "lattice.releaseSelector" -}}
app.kubernetes.io/part-of: lattice
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Names of the enabled services, sorted, as JSON (use with fromJsonArray). */}}
{{- define "lattice.enabledServices" -}}
{{- $names := list -}}
{{- range $name, $svc := .Values.services -}}
{{- if $svc.enabled }}{{ $names = append $names $name }}{{ end -}}
{{- end -}}
{{- sortAlpha $names | toJson -}}
{{- end }}

{{/*
A service's effective settings as JSON: serviceDefaults, with every key the service sets replacing the default of
that name as a whole. Use: $cfg := include "lattice.settings" (dict "root" $ "name" $name) | fromJson
*/}}
{{- define "lattice.settings" -}}
{{- $out := dict -}}
{{- range $k, $v := .root.Values.serviceDefaults }}{{ $_ := set $out $k $v }}{{ end -}}
{{- range $k, $v := index .root.Values.services .name }}{{ $_ := set $out $k $v }}{{ end -}}
{{- include "lattice.checkService" (dict "root" .root "name" .name "cfg" $out) -}}
{{- toJson $out -}}
{{- end }}

{{/* Consistency checks the schema cannot express; a violation fails the render with a clear message. */}}
{{- define "lattice.checkService" -}}
{{- $s := .cfg.shutdown -}}
{{- $needMs := add (mul (int $s.preStopSleepSeconds) 1000) (int $s.drainMs) (int $s.timeoutMs) -}}
{{- $graceMs := mul (int $s.terminationGracePeriodSeconds) 1000 -}}
{{- if le $graceMs $needMs -}}
{{- fail (printf "services.%s shutdown: terminationGracePeriodSeconds (%d s) must be longer than preStopSleepSeconds + drainMs + timeoutMs (%d ms), or the kubelet kills the pod mid-drain" .name (int $s.terminationGracePeriodSeconds) $needMs) -}}
{{- end -}}
{{- range $callee := .cfg.calls | default list -}}
{{- $target := index $.root.Values.services $callee -}}
{{- if not (and $target $target.enabled) -}}
{{- fail (printf "services.%s.calls names %q, which is not an enabled service" $.name $callee) -}}
{{- end -}}
{{- end -}}
{{- if and .cfg.autoscaling.enabled (gt (int .cfg.autoscaling.minReplicas) (int .cfg.autoscaling.maxReplicas)) -}}
{{- fail (printf "services.%s.autoscaling: minReplicas is greater than maxReplicas" .name) -}}
{{- end -}}
{{- if and (eq (.cfg.service | default dict).type "NodePort") (not (.cfg.service | default dict).nodePort) -}}
{{- fail (printf "services.%s.service: type NodePort needs a nodePort (kind maps a fixed port to the host)" .name) -}}
{{- end -}}
{{- end }}

{{/* Full image reference of a service: [registry/]repository[:tag][@digest]. */}}
{{- define "lattice.image" -}}
{{- $img := .root.Values.image -}}
{{- $own := (index .root.Values.services .name).image | default dict -}}
{{- $registry := hasKey $own "registry" | ternary $own.registry $img.registry -}}
{{- $repository := $own.repository | default (printf "%s/%s" $img.repositoryPrefix .name) -}}
{{- $tag := $own.tag | default $img.tag | default .root.Chart.AppVersion -}}
{{- $digest := $own.digest | default $img.digest -}}
{{- if $registry }}{{ $registry }}/{{ end }}{{ $repository }}
{{- if $tag }}:{{ $tag }}{{ end }}
{{- if $digest }}@{{ $digest }}{{ end }}
{{- end }}

{{/*
"true" when the chart is rendered against a cluster (helm install/upgrade, or --dry-run=server): lookup answers
there and answers nothing to `helm template` and `helm lint`.
*/}}
{{- define "lattice.online" -}}
{{- if lookup "v1" "Namespace" "" "kube-system" }}true{{ end -}}
{{- end }}

{{/*
"true" when the chart is installed into a cluster that does not serve an API (.api: group/version/Kind, e.g.
"monitoring.coreos.com/v1/ServiceMonitor"). Offline renders assume it is there, so that they show and check every
object; --api-versions makes no difference to them.
*/}}
{{- define "lattice.apiMissing" -}}
{{- if and (include "lattice.online" .root) (not (.root.Capabilities.APIVersions.Has .api)) }}true{{ end -}}
{{- end }}

{{/* "true" when installing into a cluster that lacks one of the Linkerd policy kinds the chart renders. */}}
{{- define "lattice.linkerdPolicyMissing" -}}
{{- $missing := false -}}
{{- range $api := list "policy.linkerd.io/v1beta3/Server" "policy.linkerd.io/v1alpha1/AuthorizationPolicy" "policy.linkerd.io/v1alpha1/MeshTLSAuthentication" "policy.linkerd.io/v1alpha1/NetworkAuthentication" -}}
{{- if include "lattice.apiMissing" (dict "root" $ "api" $api) }}{{ $missing = true }}{{ end -}}
{{- end -}}
{{- if $missing }}true{{ end -}}
{{- end }}

{{- define "lattice.imagePullPolicy" -}}
{{- ((index .root.Values.services .name).image | default dict).pullPolicy | default .root.Values.image.pullPolicy -}}
{{- end }}

{{/* The gRPC target a client in the release uses to reach service .name (see loadBalancing in values.yaml). */}}
{{- define "lattice.target" -}}
{{- $v := .root.Values -}}
{{- if eq $v.loadBalancing.mode "mesh" -}}
{{ .name }}:{{ int $v.ports.grpc }}
{{- else if eq $v.loadBalancing.mode "xds" -}}
xds:///{{ .name }}
{{- else -}}
dns:///{{ .name }}-headless.{{ .root.Release.Namespace }}.svc.{{ $v.loadBalancing.clusterDomain }}:{{ int $v.ports.grpc }}
{{- end -}}
{{- end }}

{{/* The environment variable holding the address of a called service: user → USER_SERVICE_ADDRESS. */}}
{{- define "lattice.addressVar" -}}
{{ . | replace "-" "_" | upper }}_SERVICE_ADDRESS
{{- end }}

{{/* Names of the services calling service .name, as JSON. */}}
{{- define "lattice.callers" -}}
{{- $callers := list -}}
{{- range $caller := include "lattice.enabledServices" .root | fromJsonArray -}}
{{- if has $.name ((index $.root.Values.services $caller).calls | default list) -}}
{{- $callers = append $callers $caller -}}
{{- end -}}
{{- end -}}
{{- toJson $callers -}}
{{- end }}

{{/* Names of the enabled services using the database (or NATS when .what is "nats"), as JSON. */}}
{{- define "lattice.clientsOf" -}}
{{- $clients := list -}}
{{- range $name := include "lattice.enabledServices" .root | fromJsonArray -}}
{{- $svc := index $.root.Values.services $name -}}
{{- if and (eq $.what "database") ($svc.database | default dict).enabled }}{{ $clients = append $clients $name }}{{ end -}}
{{- if and (eq $.what "nats") $svc.nats }}{{ $clients = append $clients $name }}{{ end -}}
{{- end -}}
{{- toJson $clients -}}
{{- end }}

{{/* DATABASE_URL for services without an existingSecret: the in-release server, or postgresql.url. */}}
{{- define "lattice.databaseUrl" -}}
{{- $pg := .Values.postgresql -}}
{{- if $pg.enabled -}}
{{- $password := required "postgresql.password is required when postgresql.enabled (a development-only password)" $pg.password -}}
postgres://{{ $pg.username | urlquery }}:{{ $password | urlquery }}@postgresql.{{ .Release.Namespace }}.svc:{{ int $pg.port }}/{{ $pg.database }}
{{- else -}}
{{ $pg.url }}
{{- end -}}
{{- end }}

{{/* NATS_URL for services without an existingSecret; empty means events wait in the outbox. */}}
{{- define "lattice.natsUrl" -}}
{{- if .Values.nats.enabled -}}
nats://nats.{{ .Release.Namespace }}.svc:{{ int .Values.nats.port }}
{{- else -}}
{{ .Values.nats.url }}
{{- end -}}
{{- end }}

{{/* Plain settings of service .name (its ConfigMap's data). */}}
{{- define "lattice.configData" -}}
{{- $v := .root.Values -}}
{{- $cfg := .cfg -}}
LOG_LEVEL: {{ $cfg.logLevel | quote }}
LOG_FORMAT: {{ $cfg.logFormat | quote }}
GRPC_LB_POLICY: {{ eq $v.loadBalancing.mode "dns" | ternary "round_robin" "pick_first" | quote }}
{{- if and (eq $v.loadBalancing.mode "xds") $cfg.calls }}
GRPC_XDS_BOOTSTRAP: "/etc/lattice/xds/bootstrap.json"
{{- end }}
{{- if eq $v.loadBalancing.mode "dns" }}
GRPC_MAX_CONNECTION_AGE_MS: {{ int64 $v.loadBalancing.maxConnectionAgeMs | quote }}
GRPC_MAX_CONNECTION_AGE_GRACE_MS: {{ int64 $v.loadBalancing.maxConnectionAgeGraceMs | quote }}
{{- end }}
{{- with $cfg.database }}{{ if .enabled }}
DATABASE_SCHEMA: {{ .schema | quote }}
{{- end }}{{ end }}
{{- range $callee := $cfg.calls | default list }}
{{ include "lattice.addressVar" $callee }}: {{ include "lattice.target" (dict "root" $.root "name" $callee) | quote }}
{{- end }}
{{- $ts := $v.transportSecurity }}
{{- if and $v.linkerd.enabled (ne $v.linkerd.inject "disabled") (eq $ts.mode "plaintext") }}
{{- /* Only the proxy reaches the app, and it sets l5d-client-id from the mesh's mTLS (removing forged ones). */}}
MESH_IDENTITY: "linkerd"
{{- end }}
{{- if ne $ts.mode "plaintext" }}
{{- $paths := include "lattice.tlsPaths" .root | fromJson }}
TLS_MODE: {{ $ts.mode | quote }}
TLS_CERT_FILE: {{ $paths.cert | quote }}
TLS_KEY_FILE: {{ $paths.key | quote }}
TLS_CA_FILE: {{ $paths.ca | quote }}
TLS_REFRESH_MS: {{ int64 ($ts.refreshMs | default 60000) | quote }}
{{- end }}
{{- with $v.auth.jwt }}{{ if .jwksUrl }}
JWT_JWKS_URL: {{ .jwksUrl | quote }}
JWT_ISSUER: {{ .issuer | quote }}
JWT_AUDIENCE: {{ .audience | quote }}
JWT_ROLES_CLAIM: {{ .rolesClaim | default "roles" | quote }}
JWT_CLOCK_SKEW_S: {{ int64 (.clockSkewSeconds | default 30) | quote }}
{{- end }}{{ end }}
{{- if and $v.auth.rateLimits (not (hasKey ($cfg.env | default dict) "RATE_LIMITS")) }}
RATE_LIMITS: {{ $v.auth.rateLimits | quote }}
{{- end }}
{{- with $v.observability.tracing }}{{ if .otlpEndpoint }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ .otlpEndpoint | quote }}
OTEL_TRACES_SAMPLER: {{ .sampler | quote }}
OTEL_TRACES_SAMPLER_ARG: {{ toJson .samplerRatio | quote }}
OTEL_RESOURCE_ATTRIBUTES: {{ printf "k8s.namespace.name=%s,service.namespace=%s" $.root.Release.Namespace $.root.Release.Name | quote }}
{{- end }}{{ end }}
{{- range $key, $value := $cfg.env | default dict }}
{{- /* toJson writes a number as its shortest exact form (0.25, -3, 1000000); toString would write 1e+06. */}}
{{ $key }}: {{ kindIs "string" $value | ternary $value (toJson $value) | quote }}
{{- end }}
{{- end }}

{{/*
Where a service's certificate files are mounted (JSON: dir, cert, key, ca, caDir): the certificate Secret as a
whole folder (never subPath, which the kubelet does not update on renewal) and, unless the CA bundle is that
Secret's ca.crt, the bundle's ConfigMap or Secret as another folder.
*/}}
{{- define "lattice.tlsPaths" -}}
{{- $bundle := .Values.transportSecurity.caBundle | default dict -}}
{{- $dir := "/var/run/lattice/tls" -}}
{{- $caDir := "/var/run/lattice/ca" -}}
{{- $ca := eq ($bundle.source | default "certificateSecret") "certificateSecret" | ternary (printf "%s/ca.crt" $dir) (printf "%s/%s" $caDir ($bundle.key | default "ca.crt")) -}}
{{- dict "dir" $dir "cert" (printf "%s/tls.crt" $dir) "key" (printf "%s/tls.key" $dir) "ca" $ca "caDir" $caDir | toJson -}}
{{- end }}

{{/* Release-wide consistency checks of the security values; a violation fails the render with a clear message. */}}
{{- define "lattice.checkSecurity" -}}
{{- $ts := .Values.transportSecurity -}}
{{- if and (ne $ts.mode "plaintext") (eq .Values.loadBalancing.mode "mesh") -}}
{{- fail (printf "transportSecurity.mode %s with loadBalancing.mode mesh: Linkerd's proxies already do mTLS, and TLS in the app would make the traffic opaque to them; use plaintext (the mesh identity authorizes callers)" $ts.mode) -}}
{{- end -}}
{{- $bundle := $ts.caBundle | default dict -}}
{{- if and (ne $ts.mode "plaintext") (ne ($bundle.source | default "certificateSecret") "certificateSecret") (not $bundle.name) -}}
{{- fail (printf "transportSecurity.caBundle.source %s needs caBundle.name (the %s holding the CA bundle)" $bundle.source $bundle.source) -}}
{{- end -}}
{{- with .Values.auth.jwt -}}
{{- if and .jwksUrl (not (and .issuer .audience)) -}}
{{- fail "auth.jwt.jwksUrl needs auth.jwt.issuer and auth.jwt.audience (every token must name both)" -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/* Secret data (base64) of service .name; empty for a service that needs neither database nor NATS. */}}
{{- define "lattice.secretData" -}}
{{- $cfg := .cfg -}}
{{- if ($cfg.database | default dict).enabled }}
{{- $url := include "lattice.databaseUrl" .root -}}
{{- if not $url -}}
{{- fail (printf "services.%s uses the database: set postgresql.enabled (development), postgresql.url, or services.%s.existingSecret" .name .name) -}}
{{- end }}
DATABASE_URL: {{ $url | b64enc | quote }}
{{- end }}
{{- if $cfg.nats }}
{{- with include "lattice.natsUrl" .root }}
NATS_URL: {{ . | b64enc | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* Restricted pod security context shared by every pod of the chart. */}}
{{- define "lattice.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid | default 10001 }}
runAsGroup: {{ .uid | default 10001 }}
fsGroup: {{ .uid | default 10001 }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "lattice.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid | default 10001 }}
runAsGroup: {{ .uid | default 10001 }}
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
Linkerd pod annotations (empty without the mesh). .opaquePorts: ports the proxy must not sniff;
.forceNativeSidecar: a pod that must complete (a test) always runs the proxy as a native sidecar.
*/}}
{{- define "lattice.linkerdAnnotations" -}}
{{- $l := .root.Values.linkerd -}}
{{- if $l.enabled }}
linkerd.io/inject: {{ $l.inject | quote }}
config.linkerd.io/proxy-await: "enabled"
config.linkerd.io/default-inbound-policy: {{ $l.defaultInboundPolicy | quote }}
{{- if or $l.nativeSidecar .forceNativeSidecar }}
{{ $l.nativeSidecarAnnotation }}: "true"
{{- end }}
{{- with .opaquePorts }}
config.linkerd.io/opaque-ports: {{ join "," . | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* Egress rules every pod of the release needs: DNS, and the Linkerd control plane when meshed. */}}
{{- define "lattice.baseEgress" -}}
{{- $np := .Values.networkPolicy -}}
{{- with $np.dns }}
- to:
    {{- toYaml . | nindent 4 }}
  ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- end }}
{{- if .Values.linkerd.enabled }}
# The proxy's identity (8080), destination (8086) and policy (8090) controllers.
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ $np.linkerdNamespace }}
  ports:
    - port: 8080
      protocol: TCP
    - port: 8086
      protocol: TCP
    - port: 8090
      protocol: TCP
{{- end }}
{{- end }}

{{/* Ingress from the kubelet and monitoring to the given named ports (plus the Linkerd proxy's admin port). */}}
{{- define "lattice.probeIngress" -}}
{{- $np := .root.Values.networkPolicy -}}
{{- $from := concat ($np.probeSources | default list) ($np.monitoringSources | default list) -}}
{{- if $from }}
- from:
    {{- toYaml $from | nindent 4 }}
  ports:
    {{- range .ports }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
    {{- if .root.Values.linkerd.enabled }}
    - port: 4191
      protocol: TCP
    {{- end }}
{{- end }}
{{- end }}

{{/* A podSelector peer matching the named components of this release. */}}
{{- define "lattice.podsPeer" -}}
- podSelector:
    matchExpressions:
      - key: app.kubernetes.io/instance
        operator: In
        values: [{{ .root.Release.Name | quote }}]
      - key: app.kubernetes.io/name
        operator: In
        values: {{ .names | toJson }}
{{- end }}
