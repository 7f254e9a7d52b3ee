{{/* _pod.tpl: the parts every pod template of the chart shares (controller, artifact server, render server), each
     taking the root context, the component's name and its values section (`.Values.controller`, `.Values.server`,
     `.Values.render`), which all hold the same pod keys. */}}

{{/* The pod template's metadata: include "jaas.podMetadata" (list . "render" .Values.render) */}}
{{- define "jaas.podMetadata" -}}
{{- $values := index . 2 -}}
labels:
  {{- include "jaas.componentSelectorLabels" (list (index . 0) (index . 1)) | nindent 2 }}
  {{- with $values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with $values.podAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Who the pod runs as and how it stops: its ServiceAccount (with a token only when `withToken`, i.e. only the
     controller, which talks to the API server), pull secrets, the pod security context, priority, grace period.
     include "jaas.podRuntime" (list . "render" .Values.render false) */}}
{{- define "jaas.podRuntime" -}}
{{- $root := index . 0 }}
{{- $values := index . 2 -}}
serviceAccountName: {{ include "jaas.serviceAccountName" (list $root (index . 1) $values.serviceAccount) }}
automountServiceAccountToken: {{ index . 3 }}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
{{- with $values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
terminationGracePeriodSeconds: {{ $values.terminationGracePeriodSeconds }}
{{- end }}

{{/* Where the pod may run: include "jaas.podPlacement" .Values.render */}}
{{- define "jaas.podPlacement" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* A container's probes, both on the named port of its probe server: liveness /healthz, readiness /readyz.
     include "jaas.healthProbes" "metrics" */}}
{{- define "jaas.healthProbes" -}}
livenessProbe:
  httpGet:
    path: /healthz
    port: {{ . }}
  periodSeconds: 10
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /readyz
    port: {{ . }}
  periodSeconds: 5
  failureThreshold: 2
{{- end }}

{{/* The ServiceAccount of a component that the chart creates (`<values>.serviceAccount.create`); `withToken` false
     for the components that need no API access.
     include "jaas.componentServiceAccount" (list . "render" .Values.render false) */}}
{{- define "jaas.componentServiceAccount" -}}
{{- $root := index . 0 }}
{{- $component := index . 1 }}
{{- $serviceAccount := (index . 2).serviceAccount -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "jaas.serviceAccountName" (list $root $component $serviceAccount) }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "jaas.componentLabels" (list $root $component) | nindent 4 }}
  {{- with $serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- if not (index . 3) }}
automountServiceAccountToken: false
{{- end }}
{{- end }}
