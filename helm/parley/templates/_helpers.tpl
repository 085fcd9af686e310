{{/* Names are capped at 63 characters (DNS label) because Kubernetes rejects longer ones. */}}
{{- define "parley.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "parley.fullname" -}}
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

{{/* Name of one service's objects. Call with (dict "root" $ "svc" "chat"). */}}
{{- define "parley.componentName" -}}
{{- printf "%s-%s" (include "parley.fullname" .root) .svc | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "parley.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "parley.commonLabels" -}}
helm.sh/chart: {{ include "parley.chart" . }}
app.kubernetes.io/part-of: parley
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
{{- end -}}

{{/* Selector labels never change between upgrades (Deployment selectors are immutable). */}}
{{- define "parley.selectorLabels" -}}
app.kubernetes.io/name: {{ include "parley.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .svc }}
{{- end -}}

{{- define "parley.labels" -}}
{{ include "parley.commonLabels" .root }}
{{ include "parley.selectorLabels" . }}
{{- end -}}

{{- define "parley.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "parley.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "parley.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "parley.backendsSecretName" -}}
{{- default (printf "%s-backends" (include "parley.fullname" .)) .Values.backends.existingSecret -}}
{{- end -}}

{{- define "parley.jwtSecretName" -}}
{{- default (printf "%s-jwt" (include "parley.fullname" .)) .Values.jwt.existingSecret -}}
{{- end -}}

{{- define "parley.verificationKeySecretName" -}}
{{- default (printf "%s-verification-key" (include "parley.fullname" .)) .Values.verificationTokenKey.existingSecret -}}
{{- end -}}

{{/* Verification mail must go somewhere real, or the operator must say it is off. */}}
{{- define "parley.checkMail" -}}
{{- $mode := toString .Values.config.emailVerification -}}
{{- if not (has $mode (list "on" "off")) -}}
{{- fail (printf "config.emailVerification must be \"on\" or \"off\", not %q" $mode) -}}
{{- end -}}
{{- if and (eq $mode "on") (not .Values.backends.existingSecret) (not .Values.backends.smtpUrl) -}}
{{- fail "backends.smtpUrl is required while config.emailVerification is \"on\" (or set config.emailVerification=off: accounts are then verified on register, no mail is sent)" -}}
{{- end -}}
{{- if hasKey .Values.config.extraEnv "DEV_MAILBOX" -}}
{{- fail "DEV_MAILBOX is for embedded development only: the dev mailbox serves every verification link to anyone" -}}
{{- end -}}
{{- range $svc, $cfg := .Values.services -}}
{{- if and (kindIs "map" $cfg) (hasKey (default (dict) $cfg.env) "DEV_MAILBOX") -}}
{{- fail "DEV_MAILBOX is for embedded development only: the dev mailbox serves every verification link to anyone" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "parley.publicUrl" -}}
{{- default (printf "https://%s" .Values.ingress.host) .Values.config.publicUrl -}}
{{- end -}}

{{- define "parley.publicWsUrl" -}}
{{- default (printf "wss://%s/ws" .Values.ingress.host) .Values.config.publicWsUrl -}}
{{- end -}}

{{- define "parley.jwksUrl" -}}
{{- default (printf "http://%s:8080/.well-known/jwks.json" (include "parley.componentName" (dict "root" . "svc" "identity"))) .Values.jwt.jwksUrl -}}
{{- end -}}

{{/* In-cluster base URL of a Connect service, for service-to-service calls. */}}
{{- define "parley.internalUrl" -}}
{{- printf "http://%s:8080" (include "parley.componentName" .) -}}
{{- end -}}
