{{/* Chart name, overridable. */}}
{{- define "@@name@@.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Release-scoped name. A release called "@@name@@" yields "@@name@@", not "@@name@@-@@name@@",
so the usual install gives the same object names as the kustomize tree.
*/}}
{{- define "@@name@@.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "@@name@@.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "@@name@@.selectorLabels" . }}
app.kubernetes.io/version: {{ include "@@name@@.imageTag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: @@name@@
{{- end }}

{{/* Never add to these: selectors are immutable on a Deployment. */}}
{{- define "@@name@@.selectorLabels" -}}
app.kubernetes.io/name: {{ include "@@name@@.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "@@name@@.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "@@name@@.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "@@name@@.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "@@name@@.image" -}}
{{ .Values.image.repository }}:{{ include "@@name@@.imageTag" . }}
{{- end }}

{{- define "@@name@@.secretName" -}}
{{- .Values.secret.existingSecret | default (include "@@name@@.fullname" .) }}
{{- end }}

{{/*
The whole non-secret environment as one map, shared by the ConfigMap and the
migrate hook (which runs before the ConfigMap exists on first install).
*/}}
{{- define "@@name@@.config" -}}
@@if db@@
{{- $env := dict "HOST" "0.0.0.0" "PORT" "8080" "ADMIN_PORT" "8081" "@@ENV@@_MIGRATE__ON_START" (ternary "false" "true" .Values.migration.enabled) }}
@@else@@
{{- $env := dict "HOST" "0.0.0.0" "PORT" "8080" "ADMIN_PORT" "8081" }}
@@end@@
{{- toYaml (merge $env .Values.config) }}
{{- end }}

{{/* Pod-level security context shared by every pod of the chart. */}}
{{- define "@@name@@.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "@@name@@.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
TLS files for outgoing connections (values `tls`), one read-only projected
volume at a fixed path so DATABASE_URL and the OTEL_* and @@ENV@@_* names can be
written once. Empty when no source is set.
*/}}
{{- define "@@name@@.tlsEnabled" -}}
{{- if or .Values.tls.caBundle.secret .Values.tls.caBundle.configMap .Values.tls.clientCertificate.secret }}true{{ end }}
{{- end }}

{{- define "@@name@@.tlsVolumeMount" -}}
{{- if include "@@name@@.tlsEnabled" . -}}
- name: tls
  mountPath: /etc/@@name@@/tls
  readOnly: true
{{- end }}
{{- end }}

{{- define "@@name@@.tlsVolume" -}}
{{- if include "@@name@@.tlsEnabled" . -}}
- name: tls
  projected:
    # Group-readable: the pods run as 65532:65532 and fsGroup 65532 owns the files.
    defaultMode: 0440
    sources:
      {{- with .Values.tls.caBundle.secret }}
      - secret:
          name: {{ . }}
          items:
            - key: {{ $.Values.tls.caBundle.key }}
              path: ca.crt
      {{- end }}
      {{- with .Values.tls.caBundle.configMap }}
      - configMap:
          name: {{ . }}
          items:
            - key: {{ $.Values.tls.caBundle.key }}
              path: ca.crt
      {{- end }}
      {{- with .Values.tls.clientCertificate.secret }}
      - secret:
          name: {{ . }}
          items:
            - key: tls.crt
              path: client.crt
            - key: tls.key
              path: client.key
      {{- end }}
{{- end }}
{{- end }}
