{{/* _validate.tpl: stops `helm template/install` with a clear message on settings that cannot work together
     (the storage rule in values.yaml, scaling settings, the render server's sources and ports). Included once,
     from the controller Deployment. */}}
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
{{- include "jaas.validateScaling" (list "server" $srv) }}
{{- if and (gt (int .Values.controller.replicas) 1) (not .Values.controller.leaderElection.enabled) }}
  {{- fail "controller.replicas > 1 needs controller.leaderElection.enabled: several controllers would render the same snippets at once." }}
{{- end }}
{{- if .Values.render.enabled }}
  {{- include "jaas.validateRender" .Values.render }}
{{- end }}
{{- end }}

{{/* The HPA and PDB settings of a component: include "jaas.validateScaling" (list "server" .Values.server) */}}
{{- define "jaas.validateScaling" -}}
{{- $section := index . 0 }}
{{- $a := (index . 1).autoscaling }}
{{- $pdb := (index . 1).podDisruptionBudget }}
{{- if and $a.enabled (gt (int $a.minReplicas) (int $a.maxReplicas)) }}
  {{- fail (printf "%s.autoscaling.minReplicas must not exceed %s.autoscaling.maxReplicas." $section $section) }}
{{- end }}
{{- if and $a.enabled (not $a.targetCPUUtilizationPercentage) (not $a.targetMemoryUtilizationPercentage) }}
  {{- fail (printf "%s.autoscaling needs targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage." $section) }}
{{- end }}
{{- if and $pdb.enabled (eq (toString $pdb.minAvailable) "") (eq (toString $pdb.maxUnavailable) "") }}
  {{- fail (printf "%s.podDisruptionBudget needs minAvailable or maxUnavailable." $section) }}
{{- end }}
{{- if and $pdb.enabled (ne (toString $pdb.minAvailable) "") (ne (toString $pdb.maxUnavailable) "") }}
  {{- fail (printf "%s.podDisruptionBudget: set minAvailable or maxUnavailable, not both (set the other to \"\")." $section) }}
{{- end }}
{{- end }}

{{/* The render server (when enabled): something to serve, directories that a volume provides, two distinct ports,
     and the HPA/PDB rules. include "jaas.validateRender" .Values.render */}}
{{- define "jaas.validateRender" -}}
{{- $snippetFlag := false }}
{{- range .extraArgs }}
  {{- if hasPrefix "--snippet" . }}{{ $snippetFlag = true }}{{ end }}
{{- end }}
{{- if not (or .snippets.configMaps .snippets.directories $snippetFlag) }}
  {{- fail "render.enabled needs snippets to serve: list ConfigMaps in render.snippets.configMaps, or mount a volume (render.extraVolumes, render.extraVolumeMounts) and list its directory in render.snippets.directories (or pass --snippet FILE in render.extraArgs)." }}
{{- end }}
{{- $mountPaths := list }}
{{- range .extraVolumeMounts }}
  {{- $mountPaths = append $mountPaths (trimSuffix "/" .mountPath) }}
{{- end }}
{{- range $section, $directories := dict "render.snippets.directories" .snippets.directories "render.libraries.directories" .libraries.directories }}
  {{- range $directory := $directories }}
    {{- $mounted := false }}
    {{- range $mountPaths }}
      {{- if or (eq (trimSuffix "/" $directory) .) (hasPrefix (printf "%s/" .) $directory) }}{{ $mounted = true }}{{ end }}
    {{- end }}
    {{- if not $mounted }}
      {{- fail (printf "%s: %s is not under any mountPath of render.extraVolumeMounts, so the render server would find nothing there (its image holds no snippets): mount a volume at or above it with render.extraVolumes and render.extraVolumeMounts." $section $directory) }}
    {{- end }}
  {{- end }}
{{- end }}
{{- /* jaas serve tells library directories apart by their last path segment (a ConfigMap's is its name). */}}
{{- $libraryNames := list }}
{{- range concat .libraries.configMaps .libraries.directories }}
  {{- $name := base . }}
  {{- if has $name $libraryNames }}
    {{- fail (printf "render.libraries: two library directories are named %q (a ConfigMap's name, or a directory's last path segment): jaas serve tells libraries apart by that name, so give them different names." $name) }}
  {{- end }}
  {{- $libraryNames = append $libraryNames $name }}
{{- end }}
{{- if eq (int .port) (int .metricsPort) }}
  {{- fail "render.port and render.metricsPort must differ: the render endpoint and the probe/metrics server each bind their own port." }}
{{- end }}
{{- include "jaas.validateScaling" (list "render" .) }}
{{- end }}
