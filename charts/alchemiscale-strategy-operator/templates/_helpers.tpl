{{/* Chart name, overridable. */}}
{{- define "aso.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-qualified name used for every namespaced object. */}}
{{- define "aso.fullname" -}}
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

{{/*
Cluster-scoped objects are shared by every release: qualify them by namespace too. Too long a
name is cut and suffixed with a hash of the whole, so two long namespaces never collide.
*/}}
{{- define "aso.clusterName" -}}
{{- $name := printf "%s-%s" .Release.Namespace (include "aso.fullname" .) -}}
{{- if gt (len $name) 63 -}}
{{- printf "%s-%s" ($name | trunc 54 | trimSuffix "-") ($name | sha256sum | trunc 8) -}}
{{- else -}}
{{- $name -}}
{{- end -}}
{{- end -}}

{{- define "aso.selectorLabels" -}}
app.kubernetes.io/name: {{ include "aso.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "aso.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "aso.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "aso.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "aso.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "aso.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Name of the Secret with the default server's credentials, or "" when there is none. */}}
{{- define "aso.credentialsSecretName" -}}
{{- $c := .Values.alchemiscale.credentials -}}
{{- if $c.existingSecret -}}
{{- $c.existingSecret -}}
{{- else if $c.create -}}
{{- printf "%s-credentials" (include "aso.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Name of the ConfigMap with extra CA certificates, or "" when there is none. */}}
{{- define "aso.caConfigMapName" -}}
{{- $ca := .Values.alchemiscale.caBundle -}}
{{- if $ca.existingConfigMap -}}
{{- $ca.existingConfigMap -}}
{{- else if $ca.pem -}}
{{- printf "%s-ca" (include "aso.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "aso.caMountDir" -}}/etc/strategy-operator/ca{{- end -}}

{{/*
The rules the operator needs wherever it serves NetworkStrategies, and nothing more:
Kopf lists and watches the resources and patches them (its finalizer), patches their status
subresource, posts Events, and the operator reads credentials Secrets by name (never lists them).
*/}}
{{- define "aso.watchRules" -}}
- apiGroups: ["alchemiscale.org"]
  resources: ["networkstrategies"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["alchemiscale.org"]
  resources: ["networkstrategies/status"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- if .Values.rbac.readCredentialsSecrets }}
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
  {{- with .Values.rbac.credentialsSecretNames }}
  resourceNames: {{ toJson . }}
  {{- end }}
{{- end }}
{{- end -}}
