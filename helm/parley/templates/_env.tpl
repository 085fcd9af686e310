{{/* Environment of one service's container. Call with (dict "root" $ "svc" "chat"). */}}
{{- define "parley.env" -}}
{{- $root := .root -}}
{{- $svc := .svc -}}
{{- $cfg := index $root.Values.services $svc -}}
{{- $c := $root.Values.config -}}
- name: PARLEY_SERVICE
  value: {{ $svc | quote }}
- name: NODE_ID
  # Unique per pod: presence and per-node event routing key on it.
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: NODE_ENV
  value: {{ $c.nodeEnv | quote }}
- name: LOG_LEVEL
  value: {{ $c.logLevel | quote }}
- name: PORT
  value: "8080"
- name: ADMIN_PORT
  value: {{ $c.adminPort | int64 | quote }}
- name: DB_POOL_MAX
  value: {{ $c.dbPoolMax | int64 | quote }}
- name: DB_CONNECT_TIMEOUT_MS
  value: {{ $c.dbConnectTimeoutMs | int64 | quote }}
- name: DB_ACQUIRE_TIMEOUT_MS
  value: {{ $c.dbAcquireTimeoutMs | int64 | quote }}
- name: DB_STATEMENT_TIMEOUT_MS
  value: {{ $c.dbStatementTimeoutMs | int64 | quote }}
- name: DB_IDLE_IN_TX_TIMEOUT_MS
  value: {{ $c.dbIdleInTxTimeoutMs | int64 | quote }}
- name: INBOX_RETENTION
  value: {{ $c.inboxRetention | int64 | quote }}
- name: NOTIFICATION_READ_RETENTION
  value: {{ $c.notificationReadRetention | int64 | quote }}
- name: TOKEN_RETENTION
  value: {{ $c.tokenRetention | int64 | quote }}
- name: RETENTION_INTERVAL
  value: {{ $c.retentionInterval | int64 | quote }}
- name: NATS_STREAM_REPLICAS
  value: {{ $c.natsStreamReplicas | int64 | quote }}
{{- if eq $svc "realtime" }}
- name: WS_PORT
  value: {{ $cfg.wsPort | quote }}
{{- end }}
- name: PUBLIC_URL
  value: {{ include "parley.publicUrl" $root | quote }}
- name: PUBLIC_WS_URL
  value: {{ include "parley.publicWsUrl" $root | quote }}
- name: CORS_ORIGINS
  value: {{ $c.corsOrigins | quote }}
- name: JWT_ISSUER
  value: {{ $c.jwtIssuer | quote }}
- name: JWT_AUDIENCE
  value: {{ $c.jwtAudience | quote }}
- name: ACCESS_TOKEN_TTL
  value: {{ $c.accessTokenTtl | int64 | quote }}
- name: REFRESH_TOKEN_TTL
  value: {{ $c.refreshTokenTtl | int64 | quote }}
- name: REFRESH_REUSE_GRACE_SEC
  value: {{ $c.refreshReuseGraceSec | int64 | quote }}
- name: MAIL_FROM
  value: {{ $c.mailFrom | quote }}
- name: EMAIL_VERIFICATION
  value: {{ $c.emailVerification | toString | quote }}
- name: EMAIL_VERIFICATION_TTL
  value: {{ $c.emailVerificationTtl | int64 | quote }}
- name: TRUST_PROXY
  value: {{ $c.trustProxy | toString | quote }}
- name: RATE_LIMIT_SCALE
  value: {{ $c.rateLimitScale | quote }}
- name: WS_MAX_SOCKETS_PER_USER
  value: {{ $c.wsMaxSocketsPerUser | int64 | quote }}
{{- if eq $svc "identity" }}
- name: GRAPH_RECONCILE_INTERVAL
  value: {{ $c.graphReconcileInterval | int64 | quote }}
{{- end }}
- name: DATA_DIR
  value: {{ $root.Values.dataDir | quote }}
# The preStop hook already covers the endpoint-removal race; a second delay would only eat
# into terminationGracePeriodSeconds.
- name: SHUTDOWN_DELAY
  value: "0"
- name: DATABASE_URL
  valueFrom:
    secretKeyRef: { name: {{ include "parley.backendsSecretName" $root }}, key: DATABASE_URL }
- name: NATS_URL
  valueFrom:
    secretKeyRef: { name: {{ include "parley.backendsSecretName" $root }}, key: NATS_URL }
- name: REDIS_URL
  valueFrom:
    secretKeyRef: { name: {{ include "parley.backendsSecretName" $root }}, key: REDIS_URL }
- name: SMTP_URL
  valueFrom:
    secretKeyRef: { name: {{ include "parley.backendsSecretName" $root }}, key: SMTP_URL, optional: true }
{{- if and (eq (toString $c.emailVerification) "on") (has $svc (list "identity" "notification")) }}
- name: VERIFICATION_TOKEN_KEY
  valueFrom:
    secretKeyRef: { name: {{ include "parley.verificationKeySecretName" $root }}, key: VERIFICATION_TOKEN_KEY }
{{- end }}
{{- if eq $svc "identity" }}
- name: JWT_PRIVATE_JWK
  valueFrom:
    secretKeyRef: { name: {{ include "parley.jwtSecretName" $root }}, key: JWT_PRIVATE_JWK }
{{- else }}
- name: JWKS_URL
  value: {{ include "parley.jwksUrl" $root | quote }}
{{- end }}
# In-cluster URLs for service-to-service Connect calls.
- name: IDENTITY_URL
  value: {{ include "parley.internalUrl" (dict "root" $root "svc" "identity") | quote }}
- name: CHAT_URL
  value: {{ include "parley.internalUrl" (dict "root" $root "svc" "chat") | quote }}
{{- if and $root.Values.web.enabled (eq $svc $root.Values.web.servedBy) }}
- name: WEB_DIST
  value: {{ $root.Values.web.dist | quote }}
{{- end }}
{{- range $k, $v := $c.extraEnv }}
- name: {{ $k }}
  value: {{ $v | toString | quote }}
{{- end }}
{{- range $k, $v := $cfg.env }}
- name: {{ $k }}
  value: {{ $v | toString | quote }}
{{- end }}
{{- end -}}
