{{/* _validate.tpl: stops `helm template/install` with a clear message on settings that cannot work together
     (the storage rule in values.yaml). Included once, from the controller Deployment. */}}
{{- define "jaas.validate" -}}
{{- $s := .Values.operator.storage }}
{{- $p := $s.persistence }}
{{- $srv := .Values.server }}
{{- if eq $s.backend "local" }}
  {{- if and (not $p.enabled) (gt (int .Values.controller.replicas) 1) }}
    {{- fail "controller.replicas > 1 needs shared storage: with operator.storage.backend=local and no persistence every pod has its own emptyDir. Use operator.storage.persistence with accessModes [ReadWriteMany], or backend s3." }}
  {{- end }}
  {{- if and $p.enabled (not (has "ReadWriteMany" $p.accessModes)) (gt (int .Values.controller.replicas) 1) }}
    {{- fail "controller.replicas must be 1 with a ReadWriteOnce volume (operator.storage.persistence.accessModes): only one pod can mount it. Use ReadWriteMany or backend s3 for more replicas." }}
  {{- end }}
  {{- if and $srv.separate (not (include "jaas.sharedVolume" .)) }}
    {{- fail "server.separate=true needs storage the server pods can share: operator.storage.backend=s3, or operator.storage.persistence.enabled with accessModes [ReadWriteMany]. With an emptyDir or a ReadWriteOnce volume the server runs inside the controller pod." }}
  {{- end }}
  {{- if and $p.enabled (has "ReadWriteMany" $p.accessModes) (gt (len $p.accessModes) 1) }}
    {{- fail "operator.storage.persistence.accessModes: give ReadWriteMany alone (mixing it with ReadWriteOnce leaves the volume's sharing undefined)." }}
  {{- end }}
{{- else }}
  {{- if not $s.s3.bucket }}
    {{- fail "operator.storage.s3.bucket is required when operator.storage.backend=s3." }}
  {{- end }}
  {{- if not $s.s3.endpoint }}
    {{- fail "operator.storage.s3.endpoint (host:port) is required when operator.storage.backend=s3." }}
  {{- end }}
  {{- if $p.enabled }}
    {{- fail "operator.storage.persistence is for backend=local only: with backend=s3 the artifacts live in the bucket." }}
  {{- end }}
  {{- if and $s.s3.anonymous $s.s3.credentialsSecret.name }}
    {{- fail "operator.storage.s3.anonymous=true sends unsigned requests: do not also set operator.storage.s3.credentialsSecret.name." }}
  {{- end }}
{{- end }}
{{- if not $srv.separate }}
  {{- if gt (int $srv.replicas) 1 }}
    {{- fail "server.replicas > 1 needs server.separate=true (and backend s3 or a ReadWriteMany volume): otherwise the server is a container of the controller pod and scales with controller.replicas." }}
  {{- end }}
  {{- if $srv.autoscaling.enabled }}
    {{- fail "server.autoscaling.enabled needs server.separate=true (and backend s3 or a ReadWriteMany volume)." }}
  {{- end }}
  {{- if $srv.podDisruptionBudget.enabled }}
    {{- fail "server.podDisruptionBudget.enabled needs server.separate=true (and backend s3 or a ReadWriteMany volume)." }}
  {{- end }}
{{- end }}
{{- if and $srv.autoscaling.enabled (gt (int $srv.autoscaling.minReplicas) (int $srv.autoscaling.maxReplicas)) }}
  {{- fail "server.autoscaling.minReplicas must not exceed server.autoscaling.maxReplicas." }}
{{- end }}
{{- if and $srv.autoscaling.enabled (not $srv.autoscaling.targetCPUUtilizationPercentage) (not $srv.autoscaling.targetMemoryUtilizationPercentage) }}
  {{- fail "server.autoscaling needs targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage." }}
{{- end }}
{{- $pdb := $srv.podDisruptionBudget }}
{{- if and $pdb.enabled (eq (toString $pdb.minAvailable) "") (eq (toString $pdb.maxUnavailable) "") }}
  {{- fail "server.podDisruptionBudget needs minAvailable or maxUnavailable." }}
{{- end }}
{{- if and $pdb.enabled (ne (toString $pdb.minAvailable) "") (ne (toString $pdb.maxUnavailable) "") }}
  {{- fail "server.podDisruptionBudget: set minAvailable or maxUnavailable, not both (set the other to \"\")." }}
{{- end }}
{{- if and (gt (int .Values.controller.replicas) 1) (not .Values.controller.leaderElection.enabled) }}
  {{- fail "controller.replicas > 1 needs controller.leaderElection.enabled: several controllers would render the same snippets at once." }}
{{- end }}
{{- end }}
