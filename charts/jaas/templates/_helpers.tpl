{{/* _helpers.tpl: names, labels, images and the storage rule shared by the templates. */}}

{{- define "jaas.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "jaas.fullname" -}}
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

{{- define "jaas.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "jaas.labels" -}}
helm.sh/chart: {{ include "jaas.chart" . }}
{{ include "jaas.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: jaas
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "jaas.selectorLabels" -}}
app.kubernetes.io/name: {{ include "jaas.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector labels of one component: include "jaas.componentSelectorLabels" (list . "controller") */}}
{{- define "jaas.componentSelectorLabels" -}}
{{ include "jaas.selectorLabels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "jaas.componentLabels" -}}
{{ include "jaas.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* The ServiceAccount name of a component: its `name`, or `<fullname>-<component>` when the chart creates it, or
     `default` when it does not. include "jaas.serviceAccountName" (list . "server" .Values.server.serviceAccount) */}}
{{- define "jaas.serviceAccountName" -}}
{{- $serviceAccount := index . 2 }}
{{- if $serviceAccount.create }}
{{- default (printf "%s-%s" (include "jaas.fullname" (index . 0)) (index . 1)) $serviceAccount.name }}
{{- else }}
{{- default "default" $serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "jaas.controllerServiceAccountName" -}}
{{- include "jaas.serviceAccountName" (list . "controller" .Values.controller.serviceAccount) }}
{{- end }}

{{/* image reference: include "jaas.image" (list . .Values.controller.image) */}}
{{- define "jaas.image" -}}
{{- $root := index . 0 }}
{{- $image := index . 1 }}
{{- if $image.digest }}
{{- printf "%s@%s" $image.repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $image.repository (default $root.Chart.AppVersion $image.tag) }}
{{- end }}
{{- end }}

{{/* The storage rule (see values.yaml). "true" when the local volume can be shared by several pods. */}}
{{- define "jaas.sharedVolume" -}}
{{- $p := .Values.operator.storage.persistence }}
{{- if and (eq .Values.operator.storage.backend "local") $p.enabled (has "ReadWriteMany" $p.accessModes) }}true{{ end }}
{{- end }}

{{- define "jaas.leaseName" -}}
{{- default (printf "%s-controller" (include "jaas.fullname" .)) .Values.controller.leaderElection.id }}
{{- end }}

{{- define "jaas.baseURL" -}}
{{- if .Values.operator.storage.baseURL }}
{{- .Values.operator.storage.baseURL }}
{{- else }}
{{- printf "http://%s-server.%s.svc.cluster.local:%d" (include "jaas.fullname" .) .Release.Namespace (int .Values.server.service.port) }}
{{- end }}
{{- end }}

{{- define "jaas.pvcName" -}}
{{- default (printf "%s-artifacts" (include "jaas.fullname" .)) .Values.operator.storage.persistence.existingClaim }}
{{- end }}

{{/* Storage settings both binaries read (the JAAS_* env twins of the storage flags). */}}
{{- define "jaas.storageEnv" -}}
{{- $s := .Values.operator.storage -}}
- name: JAAS_STORAGE_BACKEND
  value: {{ $s.backend | quote }}
{{- if eq $s.backend "local" }}
- name: JAAS_STORAGE_PATH
  value: {{ $s.path | quote }}
{{- else }}
- name: JAAS_S3_ENDPOINT
  value: {{ $s.s3.endpoint | quote }}
- name: JAAS_S3_BUCKET
  value: {{ $s.s3.bucket | quote }}
{{- with $s.s3.prefix }}
- name: JAAS_S3_PREFIX
  value: {{ . | quote }}
{{- end }}
- name: JAAS_S3_REGION
  value: {{ $s.s3.region | quote }}
- name: JAAS_S3_USE_SSL
  value: {{ $s.s3.useSSL | quote }}
{{- if $s.s3.anonymous }}
- name: JAAS_S3_ANONYMOUS
  value: "true"
{{- end }}
{{- with $s.s3.checksum }}
- name: JAAS_S3_CHECKSUM
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* S3 credentials from the user's Secret (never rendered by the chart). */}}
{{- define "jaas.storageEnvFrom" -}}
{{- if and (eq .Values.operator.storage.backend "s3") .Values.operator.storage.s3.credentialsSecret.name -}}
envFrom:
  - secretRef:
      name: {{ .Values.operator.storage.s3.credentialsSecret.name }}
{{- end }}
{{- end }}

{{/* The artifact volume of the local backend. */}}
{{- define "jaas.artifactVolume" -}}
- name: artifacts
{{- if .Values.operator.storage.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ include "jaas.pvcName" . }}
{{- else }}
  emptyDir: {}
{{- end }}
{{- end }}

{{/* The artifact server container, used in its own Deployment or inside the controller pod. */}}
{{- define "jaas.serverContainer" -}}
- name: server
  image: {{ include "jaas.image" (list . .Values.server.image) }}
  imagePullPolicy: {{ .Values.server.image.pullPolicy }}
  env:
    - name: JAAS_STORAGE_LISTEN_ADDRESS
      value: "0.0.0.0"
    - name: JAAS_STORAGE_PORT
      value: {{ .Values.server.port | quote }}
    - name: JAAS_METRICS_BIND_ADDRESS
      value: {{ printf "0.0.0.0:%d" (int .Values.server.metricsPort) | quote }}
    - name: JAAS_LOG_FORMAT
      value: {{ .Values.server.logFormat | quote }}
    {{- if .Values.server.cacheMaxBytes }}
    - name: JAAS_CACHE_MAX_BYTES
      value: {{ .Values.server.cacheMaxBytes | int64 | quote }}
    {{- end }}
    {{- with .Values.server.shutdownTimeout }}
    - name: JAAS_SHUTDOWN_TIMEOUT
      value: {{ . | quote }}
    {{- end }}
    {{- if .Values.server.serveRecords }}
    - name: JAAS_SERVE_RECORDS
      value: "true"
    {{- end }}
    {{- with .Values.server.connections }}
    {{- if .max }}
    - name: JAAS_MAX_CONNECTIONS
      value: {{ .max | int64 | quote }}
    {{- end }}
    {{- if .listenBacklog }}
    - name: JAAS_LISTEN_BACKLOG
      value: {{ .listenBacklog | int64 | quote }}
    {{- end }}
    {{- range $name, $value := dict "JAAS_KEEP_ALIVE" .keepAlive "JAAS_CLIENT_REQUEST_TIMEOUT" .requestTimeout "JAAS_CLIENT_DISCONNECT_TIMEOUT" .disconnectTimeout "JAAS_CLIENT_SEND_TIMEOUT" .sendTimeout }}
    {{- if $value }}
    - name: {{ $name }}
      value: {{ $value | quote }}
    {{- end }}
    {{- end }}
    {{- end }}
    {{- include "jaas.storageEnv" . | nindent 4 }}
    {{- with .Values.server.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with include "jaas.storageEnvFrom" . }}
  {{- . | nindent 2 }}
  {{- end }}
  ports:
    - name: http
      containerPort: {{ .Values.server.port }}
      protocol: TCP
    - name: server-metrics
      containerPort: {{ .Values.server.metricsPort }}
      protocol: TCP
  {{- include "jaas.healthProbes" "server-metrics" | nindent 2 }}
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  resources:
    {{- toYaml .Values.server.resources | nindent 4 }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
    {{- if eq .Values.operator.storage.backend "local" }}
    - name: artifacts
      mountPath: {{ .Values.operator.storage.path }}
      readOnly: true
    {{- end }}
{{- end }}

{{/* The components that run as a scalable Deployment of their own (HPA, PDB), as a JSON list: the artifact server
     when `server.separate`, the render server when `render.enabled`. Each names its values section.
     range $component := include "jaas.scalableComponents" . | fromJsonArray */}}
{{- define "jaas.scalableComponents" -}}
{{- $components := list }}
{{- if .Values.server.separate }}
{{- $components = append $components "server" }}
{{- end }}
{{- if .Values.render.enabled }}
{{- $components = append $components "render" }}
{{- end }}
{{- toJson $components }}
{{- end }}
