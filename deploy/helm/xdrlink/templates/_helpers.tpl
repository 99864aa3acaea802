{{/* Names: the chart's conventions, truncated to the 63 characters a label value allows. */}}
{{- define "xdrlink.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "xdrlink.fullname" -}}
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

{{- define "xdrlink.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "xdrlink.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "xdrlink.selectorLabels" -}}
app.kubernetes.io/name: {{ include "xdrlink.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The server's pods: the component label keeps the migration Job's pod out of the Service and the PDB. */}}
{{- define "xdrlink.serverSelectorLabels" -}}
{{ include "xdrlink.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{- define "xdrlink.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "xdrlink.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "xdrlink.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Secret names: the value, or "<fullname>-<suffix>". Call with (list . value suffix). */}}
{{- define "xdrlink.secretName" -}}
{{- $root := index . 0 }}
{{- $name := index . 1 }}
{{- $suffix := index . 2 }}
{{- default (printf "%s-%s" (include "xdrlink.fullname" $root) $suffix) $name }}
{{- end }}

{{/* Where the mounted files are; the flags below point into these directories. */}}
{{- define "xdrlink.configDir" -}}/etc/xdrlink/config{{- end }}
{{- define "xdrlink.secretKeyDir" -}}/etc/xdrlink/secret-key{{- end }}
{{- define "xdrlink.tlsDir" -}}/etc/xdrlink/tls{{- end }}
{{- define "xdrlink.clientCADir" -}}/etc/xdrlink/client-ca{{- end }}

{{/* The PostgreSQL DSN, from its Secret: shared by the server and the migration Job. */}}
{{- define "xdrlink.dbEnv" -}}
- name: XDRLINK_DB
  valueFrom:
    secretKeyRef:
      name: {{ include "xdrlink.secretName" (list . .Values.database.existingSecret "db") }}
      key: {{ .Values.database.key }}
{{- end }}

{{/* The scheme the probes use: the REST port serves HTTPS with TLS on. */}}
{{- define "xdrlink.scheme" -}}
{{- if .Values.tls.enabled }}HTTPS{{ else }}HTTP{{ end }}
{{- end }}
