{{/* Names and labels shared by every template. */}}

{{- define "axom.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-<chart>, or just the release name when it already holds the chart name. */}}
{{- define "axom.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "axom.selectorLabels" -}}
app.kubernetes.io/name: {{ include "axom.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "axom.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "axom.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: axom-observer
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "axom.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "axom.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Object names the operator is told about on its command line. */}}
{{- define "axom.webhookServiceName" -}}{{ include "axom.fullname" . }}-webhook{{- end -}}
{{- define "axom.metricsServiceName" -}}{{ include "axom.fullname" . }}-metrics{{- end -}}
{{/* Cluster-scoped and certificate names follow the release, so that two releases can live in
one cluster; the operator is told each of them by a flag (--mutating-webhook-name,
--validating-webhook-name, --cert-secret-name). */}}
{{- define "axom.mutatingWebhookName" -}}{{ include "axom.fullname" . }}{{- end -}}
{{- define "axom.validatingWebhookName" -}}{{ include "axom.fullname" . }}{{- end -}}
{{- define "axom.leaseName" -}}{{ include "axom.fullname" . }}-operator{{- end -}}
{{- define "axom.certSecretName" -}}
{{- default (printf "%s-webhook-tls" (include "axom.fullname" .)) .Values.certificates.secretName -}}
{{- end -}}
{{- define "axom.certificateName" -}}{{ include "axom.fullname" . }}-webhook{{- end -}}

{{/* The central API-key Secret: an existing one, else <fullname>-api-key (created by the
chart when apiKey.value is set; may be created later by hand). */}}
{{- define "axom.apiKeySecretName" -}}
{{- default (printf "%s-api-key" (include "axom.fullname" .)) .Values.apiKey.existingSecret -}}
{{- end -}}

{{/* repository:tag, or repository@digest when a digest is set. Call with (list $ "operator"). */}}
{{- define "axom.image" -}}
{{- $root := index . 0 -}}
{{- $img := index $root.Values.image (index . 1) -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $img.repository $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $img.repository (default $root.Chart.AppVersion $img.tag) -}}
{{- end -}}
{{- end -}}

{{/* The webhooks' namespaceSelector: never the system namespaces nor the release's own. */}}
{{- define "axom.namespaceSelector" -}}
{{- $excluded := uniq (append .Values.webhook.excludedNamespaces .Release.Namespace) -}}
matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values:
      {{- range $excluded }}
      - {{ . | quote }}
      {{- end }}
{{- with .Values.webhook.namespaceSelector.matchExpressions }}
{{ toYaml . | indent 2 }}
{{- end }}
{{- end -}}

{{/* A quantity value as the operator's flag wants it: Helm reads YAML numbers as floats, which
would print 1073741824 as 1.073741824e+09 (the schema only lets whole numbers through). */}}
{{- define "axom.quantity" -}}
{{- if kindIs "float64" . -}}{{ int64 . }}{{- else -}}{{ . }}{{- end -}}
{{- end -}}
