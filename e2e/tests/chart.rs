//! Checks the Helm chart `charts/jaas` with the real tools: `helm lint`; `helm template` of every supported values
//! combination, validated by `kubernetes-validate --strict` (Kubernetes 1.32 schemas) and checked for the storage
//! rule, pod security and least-privilege RBAC; the `fail` messages of impossible combinations; a server-side dry
//! run against the test API server; the controller's permissions asked of that server with `kubectl auth can-i`;
//! and the render server's pod, started as a real `jaas serve` process the way the kubelet would start it.
//! Needs `JAAS_HELM`, `JAAS_KUBECTL`, `KUBECONFIG` and `kubernetes-validate` on PATH (`bash e2e/run-tests.sh`), and
//! the `jaas` binary built into the same target directory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use jaas_e2e::{processes, repo_root, required_env, run};
use serde_json::{Value, json};

/// A supported values combination, the kinds its rendering must contain, whether the artifact server runs
/// separately and whether the render server (`jaas serve`) is deployed.
struct Case {
    name: &'static str,
    values: &'static str,
    kinds: &'static [&'static str],
    separate_server: bool,
    render: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "local emptyDir (defaults)",
        values: "",
        kinds: &["Deployment", "Service", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"],
        separate_server: false,
        render: false,
    },
    Case {
        name: "local PVC ReadWriteMany, separate scaled server, HPA, PDB",
        values: "
operator: {storage: {persistence: {enabled: true, accessModes: [ReadWriteMany], size: 5Gi, storageClass: nfs}}}
controller: {replicas: 2}
server:
  separate: true
  replicas: 3
  autoscaling: {enabled: true, minReplicas: 2, maxReplicas: 6, targetMemoryUtilizationPercentage: 80}
  podDisruptionBudget: {enabled: true, minAvailable: 1}
",
        kinds: &["PersistentVolumeClaim", "HorizontalPodAutoscaler", "PodDisruptionBudget"],
        separate_server: true,
        render: false,
    },
    Case {
        name: "local PVC ReadWriteOnce",
        values: "operator: {storage: {persistence: {enabled: true, storageClass: '-', annotations: {helm.sh/resource-policy: keep}}}}",
        kinds: &["PersistentVolumeClaim"],
        separate_server: false,
        render: false,
    },
    Case {
        name: "s3 with a credentials Secret, separate server",
        values: "
operator:
  storage:
    backend: s3
    s3: {endpoint: 's3.eu-central-1.amazonaws.com', bucket: artifacts, prefix: jaas/, region: eu-central-1,
         credentialsSecret: {name: jaas-s3}}
controller: {replicas: 2}
server: {separate: true, replicas: 2, podDisruptionBudget: {enabled: true, minAvailable: '', maxUnavailable: 1}}
",
        kinds: &["PodDisruptionBudget"],
        separate_server: true,
        render: false,
    },
    Case {
        name: "s3 with IRSA annotations and no Secret, server in the controller pod",
        values: "
operator: {storage: {backend: s3, s3: {endpoint: 'http://minio.minio:9000', bucket: artifacts, checksum: when-required}}}
controller:
  replicas: 2
  serviceAccount: {annotations: {eks.amazonaws.com/role-arn: 'arn:aws:iam::123456789012:role/jaas'}}
",
        kinds: &[],
        separate_server: false,
        render: false,
    },
    Case {
        name: "ServiceMonitor, NetworkPolicy, watched namespaces",
        values: "
metrics: {serviceMonitor: {enabled: true, labels: {release: prometheus}}}
networkPolicy: {enabled: true}
controller: {watchNamespaces: [default, kube-public], labelSelector: 'jaas.metio.wtf/render=true'}
",
        kinds: &["ServiceMonitor", "NetworkPolicy"],
        separate_server: false,
        render: false,
    },
    Case {
        name: "render server from a snippet ConfigMap",
        values: "render: {enabled: true, snippets: {configMaps: [dashboards]}}",
        kinds: &["Deployment", "Service", "ServiceAccount"],
        separate_server: false,
        render: true,
    },
    Case {
        name: "render server scaled, with libraries, a volume of snippets, HPA, PDB, NetworkPolicy, ServiceMonitor",
        values: "
render:
  enabled: true
  snippets: {configMaps: [dashboards, alerts], directories: [/shared/snippets]}
  libraries: {configMaps: [grafonnet], directories: [/shared/vendor]}
  extraVolumes: [{name: shared, persistentVolumeClaim: {claimName: jsonnet-shared, readOnly: true}}]
  extraVolumeMounts: [{name: shared, mountPath: /shared, readOnly: true}]
  extraArgs: [--max-tlas=16]
  maxConcurrentEvals: 4
  service: {annotations: {service.beta.kubernetes.io/description: render}}
  serviceAccount: {annotations: {eks.amazonaws.com/role-arn: 'arn:aws:iam::123456789012:role/render'}}
  autoscaling: {enabled: true, minReplicas: 2, maxReplicas: 8}
  podDisruptionBudget: {enabled: true, minAvailable: '', maxUnavailable: 1}
  topologySpreadConstraints: [{maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway,
                               labelSelector: {matchLabels: {app.kubernetes.io/component: render}}}]
metrics: {serviceMonitor: {enabled: true}}
networkPolicy: {enabled: true}
",
        kinds: &["HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor"],
        separate_server: false,
        render: true,
    },
];

/// Values that cannot work, and a part of the message `helm template` must fail with.
const IMPOSSIBLE: &[(&str, &str)] = &[
    ("controller: {replicas: 2}", "controller.replicas > 1 needs shared storage"),
    (
        "{operator: {storage: {persistence: {enabled: true}}}, controller: {replicas: 2}}",
        "controller.replicas must be 1 with a ReadWriteOnce volume",
    ),
    ("server: {separate: true}", "server.separate=true needs storage the server pods can share"),
    (
        "{operator: {storage: {persistence: {enabled: true, accessModes: [ReadWriteOnce]}}}, server: {separate: true}}",
        "server.separate=true needs storage the server pods can share",
    ),
    ("server: {replicas: 3}", "server.replicas > 1 needs server.separate=true"),
    ("server: {autoscaling: {enabled: true}}", "server.autoscaling.enabled needs server.separate=true"),
    ("server: {podDisruptionBudget: {enabled: true}}", "server.podDisruptionBudget.enabled needs server.separate=true"),
    ("operator: {storage: {backend: s3, s3: {endpoint: 's3:9000'}}}", "operator.storage.s3.bucket is required"),
    ("operator: {storage: {backend: s3, s3: {bucket: b}}}", "operator.storage.s3.endpoint (host:port) is required"),
    (
        "operator: {storage: {backend: s3, s3: {endpoint: 's3:9000', bucket: b}, persistence: {enabled: true}}}",
        "operator.storage.persistence is for backend=local only",
    ),
    (
        "operator: {storage: {backend: s3, s3: {endpoint: 's3:9000', bucket: b, anonymous: true, credentialsSecret: {name: x}}}}",
        "operator.storage.s3.anonymous=true sends unsigned requests",
    ),
    (
        "{operator: {storage: {backend: s3, s3: {endpoint: 's3:9000', bucket: b}}}, controller: {replicas: 2, leaderElection: {enabled: false}}}",
        "controller.replicas > 1 needs controller.leaderElection.enabled",
    ),
    ("render: {enabled: true}", "render.enabled needs snippets to serve"),
    (
        "render: {enabled: true, snippets: {directories: [/snippets-image]}}",
        "render.snippets.directories: /snippets-image is not under any mountPath of render.extraVolumeMounts",
    ),
    (
        "render: {enabled: true, snippets: {configMaps: [a]}, libraries: {directories: [/lib]},
          extraVolumeMounts: [{name: l, mountPath: /library}]}",
        "render.libraries.directories: /lib is not under any mountPath of render.extraVolumeMounts",
    ),
    (
        "render: {enabled: true, snippets: {configMaps: [a]}, libraries: {configMaps: [vendor], directories: [/v/vendor]},
          extraVolumeMounts: [{name: v, mountPath: /v}]}",
        "render.libraries: two library directories are named \"vendor\"",
    ),
    ("render: {enabled: true, snippets: {configMaps: [a]}, metricsPort: 8080}", "render.port and render.metricsPort must differ"),
    (
        "render: {enabled: true, snippets: {configMaps: [a]}, autoscaling: {enabled: true, minReplicas: 3, maxReplicas: 2}}",
        "render.autoscaling.minReplicas must not exceed render.autoscaling.maxReplicas",
    ),
    (
        "render: {enabled: true, snippets: {configMaps: [a]}, podDisruptionBudget: {enabled: true, maxUnavailable: 1}}",
        "render.podDisruptionBudget: set minAvailable or maxUnavailable, not both",
    ),
    ("render: {snippets: {configMaps: [a, a]}}", "render.snippets.configMaps: array items[0,1] must be unique"),
    ("render: {endpointPath: 'api/jsonnet'}", "render.endpointPath: Does not match pattern"),
    ("operator: {storage: {backend: nfs}}", "operator.storage.backend must be one of the following"),
    ("controller: {replicaCount: 2}", "Additional property replicaCount is not allowed"),
];

fn chart_dir() -> PathBuf {
    repo_root().join("charts/jaas")
}

/// `helm template` of the chart with `values` (YAML) as release `release` in `namespace`; stdout, or the failure.
fn helm_template(values: &str, release: &str, namespace: &str, include_crds: bool) -> Result<jaas_e2e::CommandOutput> {
    let helm = required_env("JAAS_HELM")?;
    let mut file = tempfile::NamedTempFile::new()?;
    std::io::Write::write_all(&mut file, values.as_bytes())?;
    let mut command = Command::new(helm);
    command.args(["template", release]).arg(chart_dir()).args(["--namespace", namespace, "--values"]).arg(file.path());
    if include_crds {
        command.arg("--include-crds");
    }
    run(&mut command, None)
}

/// Every non-empty document of helm's output: its text as rendered and its parsed value. What goes to the API
/// server is the text itself, so the test never depends on a YAML round trip.
fn raw_documents(yaml: &str) -> Result<Vec<(String, Value)>> {
    let mut docs = Vec::new();
    for text in yaml.split("\n---\n").map(|t| t.trim_start_matches("---\n")) {
        let value: Value = serde_saphyr::from_str(text).context("the rendered chart is not valid YAML")?;
        if !value.is_null() {
            docs.push((text.to_string(), value));
        }
    }
    Ok(docs)
}

/// The parsed values of [`raw_documents`].
fn documents(yaml: &str) -> Result<Vec<Value>> {
    Ok(raw_documents(yaml)?.into_iter().map(|(_, value)| value).collect())
}

fn kind(doc: &Value) -> &str {
    doc["kind"].as_str().unwrap_or_default()
}

fn name(doc: &Value) -> &str {
    doc["metadata"]["name"].as_str().unwrap_or_default()
}

fn find<'a>(docs: &'a [Value], kind_: &str, name_: &str) -> Result<&'a Value> {
    docs.iter().find(|d| kind(d) == kind_ && name(d) == name_).with_context(|| format!("no {kind_} {name_} rendered"))
}

/// Pod security of every Deployment: non-root, read-only root filesystem, no privilege escalation, no
/// capabilities, RuntimeDefault seccomp, and health probes on /healthz and /readyz.
fn check_pod_security(docs: &[Value]) -> Result<()> {
    for deployment in docs.iter().filter(|d| kind(d) == "Deployment") {
        let pod = &deployment["spec"]["template"]["spec"];
        let who = name(deployment);
        ensure!(pod["securityContext"]["runAsNonRoot"] == true, "{who}: pod runAsNonRoot");
        ensure!(pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", "{who}: pod seccomp");
        let containers = pod["containers"].as_array().context("containers")?;
        for c in containers {
            let sc = &c["securityContext"];
            let cname = c["name"].as_str().unwrap_or_default();
            ensure!(sc["readOnlyRootFilesystem"] == true, "{who}/{cname}: readOnlyRootFilesystem");
            ensure!(sc["allowPrivilegeEscalation"] == false, "{who}/{cname}: allowPrivilegeEscalation");
            ensure!(sc["runAsNonRoot"] == true, "{who}/{cname}: runAsNonRoot");
            ensure!(sc["capabilities"]["drop"] == json!(["ALL"]), "{who}/{cname}: drop ALL capabilities");
            ensure!(c["livenessProbe"]["httpGet"]["path"] == "/healthz", "{who}/{cname}: liveness /healthz");
            ensure!(c["readinessProbe"]["httpGet"]["path"] == "/readyz", "{who}/{cname}: readiness /readyz");
            ensure!(!c["resources"]["requests"].is_null(), "{who}/{cname}: resource requests");
        }
    }
    Ok(())
}

/// The storage rule: the Service `<release>-jaas-server` selects pods that run the server container, which is its
/// own Deployment (token not mounted) exactly when `separate`; the controller pod then has no server container.
fn check_server_placement(docs: &[Value], release: &str, separate: bool) -> Result<()> {
    let fullname = format!("{release}-jaas");
    let service = find(docs, "Service", &format!("{fullname}-server"))?;
    let controller = find(docs, "Deployment", &format!("{fullname}-controller"))?;
    let server = docs.iter().find(|d| kind(d) == "Deployment" && name(d) == format!("{fullname}-server"));
    ensure!(server.is_some() == separate, "a server Deployment exists exactly when the server is separate");
    let backing = server.unwrap_or(controller);
    let pod_labels = &backing["spec"]["template"]["metadata"]["labels"];
    let selector = service["spec"]["selector"].as_object().context("Service selector")?;
    ensure!(selector.iter().all(|(k, v)| &pod_labels[k] == v), "the server Service selects {}", name(backing));
    let container_names = |d: &Value| -> Vec<String> {
        d["spec"]["template"]["spec"]["containers"]
            .as_array()
            .map(|cs| cs.iter().filter_map(|c| c["name"].as_str().map(String::from)).collect())
            .unwrap_or_default()
    };
    ensure!(container_names(backing).contains(&"server".to_string()), "the selected pods run the server");
    ensure!(
        container_names(controller).contains(&"server".to_string()) != separate,
        "the controller pod has a server container exactly when the server is not separate"
    );
    if let Some(server) = server {
        ensure!(server["spec"]["template"]["spec"]["automountServiceAccountToken"] == false, "server mounts no token");
    }
    Ok(())
}

/// The render server: exactly when enabled, a Deployment running `jaas serve` from the controller's image as its own
/// token-less ServiceAccount, probed on its `metrics` port, every ConfigMap mounted read-only, `/tmp` writable; a
/// Service whose ports name the container's; and, when there, a NetworkPolicy admitting the render port and a
/// ServiceMonitor selecting the Service.
fn check_render_server(docs: &[Value], release: &str, enabled: bool) -> Result<()> {
    let fullname = format!("{release}-jaas");
    let render_name = format!("{fullname}-render");
    let objects: Vec<&str> = docs.iter().filter(|d| name(d) == render_name).map(kind).collect();
    if !enabled {
        ensure!(objects.is_empty(), "render.enabled is off, yet {objects:?} named {render_name} are rendered");
        return Ok(());
    }
    let deployment = find(docs, "Deployment", &render_name)?;
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let controller = &find(docs, "Deployment", &format!("{fullname}-controller"))?["spec"]["template"]["spec"];
    ensure!(
        container["image"] == controller["containers"][0]["image"],
        "the render server runs the controller's image"
    );
    ensure!(container["args"][0] == "serve", "the render container runs `jaas serve`: {}", container["args"]);
    ensure!(pod["automountServiceAccountToken"] == false, "the render pod mounts no token");
    let account = find(docs, "ServiceAccount", pod["serviceAccountName"].as_str().unwrap_or_default())?;
    ensure!(account["automountServiceAccountToken"] == false, "the render ServiceAccount mounts no token");
    for probe in ["livenessProbe", "readinessProbe"] {
        let port = &container[probe]["httpGet"]["port"];
        ensure!(container_port(container, port).is_some(), "{probe} port {port} is not a port of the container");
    }
    for mount in container["volumeMounts"].as_array().context("volumeMounts")? {
        let volume = volume_of(pod, mount)?;
        if mount["mountPath"] == "/tmp" {
            ensure!(volume["emptyDir"].is_object(), "/tmp is an emptyDir");
        } else {
            ensure!(mount["readOnly"] == true, "snippets and libraries are mounted read-only: {mount}");
        }
    }
    let service = find(docs, "Service", &render_name)?;
    ensure!(service["spec"]["type"] == "ClusterIP", "the render Service is a ClusterIP");
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    let selector = service["spec"]["selector"].as_object().context("render Service selector")?;
    ensure!(selector.iter().all(|(k, v)| &pod_labels[k] == v), "the render Service selects the render pods");
    for port in service["spec"]["ports"].as_array().context("render Service ports")? {
        ensure!(
            container_port(container, &port["targetPort"]).is_some(),
            "Service port {port} reaches no container port"
        );
    }
    if let Ok(policy) = find(docs, "NetworkPolicy", &render_name) {
        let http = container_port(container, &json!("http")).context("the render container has no `http` port")?;
        let mut admitted =
            policy["spec"]["ingress"].as_array().context("ingress")?.iter().flat_map(|rule| {
                rule["ports"].as_array().into_iter().flatten().filter_map(|port| port["port"].as_u64())
            });
        ensure!(admitted.any(|port| port == http), "the NetworkPolicy admits the render port {http}");
    }
    if let Some(monitor) = docs.iter().find(|d| kind(d) == "ServiceMonitor") {
        let wanted = monitor["spec"]["selector"]["matchLabels"].as_object().context("ServiceMonitor selector")?;
        let labels = &service["metadata"]["labels"];
        ensure!(wanted.iter().all(|(k, v)| &labels[k] == v), "the ServiceMonitor selects the render Service");
        let ports = service["spec"]["ports"].as_array().context("render Service ports")?;
        ensure!(ports.iter().any(|p| p["name"] == "metrics"), "the render Service names a port `metrics`");
    }
    Ok(())
}

/// The pod volume a container's volume mount uses.
fn volume_of<'a>(pod: &'a Value, mount: &Value) -> Result<&'a Value> {
    let volumes = pod["volumes"].as_array().context("volumes")?;
    volumes.iter().find(|v| v["name"] == mount["name"]).with_context(|| format!("no volume for the mount {mount}"))
}

/// The number of the container port `port` names (a port name or a number), if the container has it.
fn container_port(container: &Value, port: &Value) -> Option<u64> {
    container["ports"].as_array()?.iter().find_map(|p| {
        (p["name"] == *port || p["containerPort"] == *port).then(|| p["containerPort"].as_u64()).flatten()
    })
}

/// RBAC: cluster-wide only our CRDs, ExternalArtifacts, the Flux sources (read only) and Events, never a wildcard;
/// namespaced only Leases. Only the controller's ServiceAccount is bound to anything.
fn check_rbac(docs: &[Value], release: &str) -> Result<()> {
    let allowed = [
        ("jaas.metio.wtf", "jsonnetsnippets"),
        ("jaas.metio.wtf", "jsonnetlibraries"),
        ("source.toolkit.fluxcd.io", "externalartifacts"),
        ("", "events"),
        ("events.k8s.io", "events"),
    ];
    // The Flux sources a snippet or library names in spec.sourceRef: the controller reads and watches them to
    // download their artifacts, and never writes them.
    let read_only = [
        ("source.toolkit.fluxcd.io", "gitrepositories"),
        ("source.toolkit.fluxcd.io", "ocirepositories"),
        ("source.toolkit.fluxcd.io", "buckets"),
    ];
    for role in docs.iter().filter(|d| kind(d) == "ClusterRole" || kind(d) == "Role") {
        for rule in role["rules"].as_array().context("rules")? {
            let strings = |key: &str| -> Vec<&str> {
                rule[key].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
            };
            let verbs = strings("verbs");
            ensure!(!verbs.contains(&"*"), "{}: no wildcard verbs", name(role));
            for group in strings("apiGroups") {
                for resource in strings("resources") {
                    let ok = if kind(role) == "Role" {
                        group == "coordination.k8s.io" && resource == "leases"
                    } else if read_only.contains(&(group, resource)) {
                        verbs.iter().all(|verb| ["get", "list", "watch"].contains(verb))
                    } else {
                        allowed.contains(&(group, resource.split('/').next().unwrap_or_default()))
                    };
                    ensure!(
                        ok,
                        "{} {}: grants {verbs:?} on {group}/{resource}, which the controller does not need",
                        kind(role),
                        name(role)
                    );
                }
            }
        }
    }
    let controller = format!("{release}-jaas-controller");
    for binding in docs.iter().filter(|d| kind(d).ends_with("Binding")) {
        for subject in binding["subjects"].as_array().context("subjects")? {
            ensure!(subject["name"] == controller.as_str(), "{} binds {} as well", name(binding), subject["name"]);
        }
    }
    Ok(())
}

#[test]
fn helm_lint_passes() -> Result<()> {
    let helm = required_env("JAAS_HELM")?;
    let out = run(Command::new(helm).args(["lint", "--strict"]).arg(chart_dir()), None)?.ok()?;
    ensure!(out.contains("0 chart(s) failed"), "helm lint: {out}");
    Ok(())
}

#[test]
fn supported_combinations_render_valid_manifests() -> Result<()> {
    for case in CASES {
        let yaml = helm_template(case.values, "rel", "jaas", true)?.ok().with_context(|| case.name)?;
        let docs = documents(&yaml)?;
        ensure!(!docs.iter().any(|d| kind(d) == "Secret"), "{}: the chart must never render a Secret", case.name);
        for wanted in case.kinds {
            ensure!(docs.iter().any(|d| kind(d) == *wanted), "{}: no {wanted} rendered", case.name);
        }
        check_pod_security(&docs).with_context(|| case.name)?;
        check_server_placement(&docs, "rel", case.separate_server).with_context(|| case.name)?;
        check_rbac(&docs, "rel").with_context(|| case.name)?;
        check_render_server(&docs, "rel", case.render).with_context(|| case.name)?;
        let validated = run(
            Command::new("kubernetes-validate").args(["--strict", "--quiet", "-k", "1.32.0", "-"]),
            Some(yaml.as_bytes()),
        )
        .context("kubernetes-validate must be on PATH (pip install kubernetes-validate; run-tests.sh does)")?;
        ensure!(
            validated.success,
            "{}: kubernetes-validate --strict -k 1.32.0 failed:\n{}{}",
            case.name,
            validated.stdout,
            validated.stderr
        );
    }
    Ok(())
}

#[test]
fn s3_credentials_come_from_the_users_secret_and_irsa_from_annotations() -> Result<()> {
    let with_secret = documents(&helm_template(CASES[3].values, "rel", "jaas", false)?.ok()?)?;
    for deployment in ["rel-jaas-controller", "rel-jaas-server"] {
        let containers = &find(&with_secret, "Deployment", deployment)?["spec"]["template"]["spec"]["containers"];
        ensure!(containers[0]["envFrom"] == json!([{"secretRef": {"name": "jaas-s3"}}]), "{deployment}: envFrom");
    }
    let irsa = documents(&helm_template(CASES[4].values, "rel", "jaas", false)?.ok()?)?;
    let sa = find(&irsa, "ServiceAccount", "rel-jaas-controller")?;
    ensure!(sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].is_string(), "IRSA annotation on the SA");
    let pod = &find(&irsa, "Deployment", "rel-jaas-controller")?["spec"]["template"]["spec"];
    for c in pod["containers"].as_array().context("containers")? {
        ensure!(c["envFrom"].is_null(), "no credentials Secret without credentialsSecret.name");
    }
    Ok(())
}

#[test]
fn serve_records_reaches_the_server_container_wherever_it_runs() -> Result<()> {
    let separate =
        "{operator: {storage: {backend: s3, s3: {endpoint: 's3:9000', bucket: b}}}, server: {separate: true}}";
    let cases = [
        ("", "rel-jaas-controller", None),
        ("server: {serveRecords: false}", "rel-jaas-controller", None),
        ("server: {serveRecords: true}", "rel-jaas-controller", Some("true")),
        (separate, "rel-jaas-server", None),
        (&separate.replace("separate: true", "separate: true, serveRecords: true"), "rel-jaas-server", Some("true")),
    ];
    for (values, deployment, expected) in cases {
        let docs = documents(&helm_template(values, "rel", "jaas", false)?.ok()?)?;
        let containers = &find(&docs, "Deployment", deployment)?["spec"]["template"]["spec"]["containers"];
        let server = containers
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["name"] == "server"))
            .with_context(|| format!("{values:?}: no server container in {deployment}"))?;
        let value = server["env"]
            .as_array()
            .and_then(|env| env.iter().find(|e| e["name"] == "JAAS_SERVE_RECORDS"))
            .map(|e| e["value"].as_str().unwrap_or_default());
        ensure!(value == expected, "{values:?}: JAAS_SERVE_RECORDS is {value:?}, want {expected:?}");
    }
    let out = helm_template("server: {serveRecords: 'yes'}", "rel", "jaas", false)?;
    ensure!(!out.success && out.stderr.contains("server.serveRecords: Invalid type"), "{}", out.stderr);
    Ok(())
}

#[test]
fn impossible_combinations_fail_with_a_clear_message() -> Result<()> {
    for (values, message) in IMPOSSIBLE {
        let out = helm_template(values, "rel", "jaas", false)?;
        ensure!(!out.success, "helm template should fail for {values}");
        ensure!(out.stderr.contains(message), "for {values}: expected {message:?} in:\n{}", out.stderr);
    }
    Ok(())
}

/// The kinds our 1.20 test API server does not know: policy/v1 PDB (1.21), autoscaling/v2 HPA (1.23), and the
/// prometheus-operator ServiceMonitor (no CRD there).
fn known_to_kube_1_20(doc: &Value) -> bool {
    !matches!(
        (doc["apiVersion"].as_str().unwrap_or_default(), kind(doc)),
        ("policy/v1", "PodDisruptionBudget") | ("autoscaling/v2", "HorizontalPodAutoscaler") | (_, "ServiceMonitor")
    )
}

#[test]
fn supported_combinations_pass_a_server_side_dry_run() -> Result<()> {
    let kubectl = required_env("JAAS_KUBECTL")?;
    required_env("KUBECONFIG")?;
    for case in CASES {
        // Rendered into `default`, which exists; `--include-crds` puts the CRDs from crds/ first.
        let docs = raw_documents(&helm_template(case.values, "dry", "default", true)?.ok()?)?;
        let stream: Vec<String> =
            docs.into_iter().filter(|(_, value)| known_to_kube_1_20(value)).map(|(text, _)| text).collect();
        let out = run(
            Command::new(&kubectl).args(["apply", "--dry-run=server", "-f", "-"]),
            Some(stream.join("\n---\n").as_bytes()),
        )?;
        ensure!(out.success, "{}: kubectl apply --dry-run=server failed:\n{}{}", case.name, out.stdout, out.stderr);
    }
    Ok(())
}

/// Removes the objects of [`controller_rbac_grants_exactly_what_the_controller_needs`] even when it fails.
struct Cleanup {
    kubectl: String,
    namespace: String,
    cluster_objects: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let mut command = Command::new(&self.kubectl);
        command.args(["delete", "--ignore-not-found", "--wait=false"]).args(&self.cluster_objects);
        let _ = run(&mut command, None);
        let _ = run(Command::new(&self.kubectl).args(["delete", "namespace", &self.namespace, "--wait=false"]), None);
    }
}

#[test]
fn controller_rbac_grants_exactly_what_the_controller_needs() -> Result<()> {
    let kubectl = required_env("JAAS_KUBECTL")?;
    required_env("KUBECONFIG")?;
    let ns = format!("jaas-rbac-{}", std::process::id());
    // A release name without "jaas" in it, so the chart's resource prefix is `<release>-jaas`.
    let release = format!("rbac-{}", std::process::id());
    let fullname = format!("{release}-jaas");
    let _cleanup = Cleanup {
        kubectl: kubectl.clone(),
        namespace: ns.clone(),
        cluster_objects: vec![
            format!("clusterrole/{fullname}-controller"),
            format!("clusterrolebinding/{fullname}-controller"),
        ],
    };
    run(Command::new(&kubectl).args(["create", "namespace", &ns]), None)?.ok()?;
    let rbac: Vec<Value> = documents(&helm_template("", &release, &ns, false)?.ok()?)?
        .into_iter()
        .filter(|d| matches!(kind(d), "ServiceAccount" | "ClusterRole" | "ClusterRoleBinding" | "Role" | "RoleBinding"))
        .collect();
    let list = json!({"apiVersion": "v1", "kind": "List", "items": rbac});
    run(Command::new(&kubectl).args(["apply", "-f", "-"]), Some(list.to_string().as_bytes()))?.ok()?;

    // SubjectAccessReviews name group, resource and subresource exactly, so neither our CRDs nor Flux's need to
    // be installed (`kubectl auth can-i` resolves resources through discovery and answers "no" for unknown ones).
    let sa = format!("system:serviceaccount:{ns}:{fullname}-controller");
    let sa_groups = json!(["system:serviceaccounts", format!("system:serviceaccounts:{ns}"), "system:authenticated"]);
    // (verb, group, resource, subresource, namespace ("" = all), allowed?)
    let checks: &[(&str, &str, &str, &str, &str, bool)] = &[
        ("watch", "jaas.metio.wtf", "jsonnetsnippets", "", "", true),
        ("list", "jaas.metio.wtf", "jsonnetlibraries", "", "", true),
        ("patch", "jaas.metio.wtf", "jsonnetsnippets", "status", "apps", true),
        ("patch", "jaas.metio.wtf", "jsonnetsnippets", "", "apps", true),
        ("update", "jaas.metio.wtf", "jsonnetsnippets", "finalizers", "apps", false),
        ("create", "source.toolkit.fluxcd.io", "externalartifacts", "", "apps", true),
        ("delete", "source.toolkit.fluxcd.io", "externalartifacts", "", "apps", true),
        ("patch", "source.toolkit.fluxcd.io", "externalartifacts", "status", "apps", true),
        ("create", "", "events", "", "apps", false),
        ("create", "events.k8s.io", "events", "", "apps", true),
        ("watch", "source.toolkit.fluxcd.io", "gitrepositories", "", "", true),
        ("list", "source.toolkit.fluxcd.io", "ocirepositories", "", "", true),
        ("get", "source.toolkit.fluxcd.io", "buckets", "", "apps", true),
        ("update", "source.toolkit.fluxcd.io", "gitrepositories", "", "apps", false),
        ("delete", "source.toolkit.fluxcd.io", "ocirepositories", "", "apps", false),
        ("patch", "source.toolkit.fluxcd.io", "buckets", "status", "apps", false),
        ("update", "coordination.k8s.io", "leases", "", &ns, true),
        ("delete", "coordination.k8s.io", "leases", "", &ns, false),
        ("create", "coordination.k8s.io", "leases", "", "default", false),
        ("create", "jaas.metio.wtf", "jsonnetsnippets", "", "apps", false),
        ("delete", "jaas.metio.wtf", "jsonnetsnippets", "", "apps", false),
        ("get", "", "secrets", "", "", false),
        ("get", "", "secrets", "", &ns, false),
        ("list", "", "configmaps", "", "", false),
        ("create", "", "pods", "", &ns, false),
        ("create", "apps", "deployments", "", &ns, false),
        ("create", "apiextensions.k8s.io", "customresourcedefinitions", "", "", false),
    ];
    let reviews: Vec<Value> = checks
        .iter()
        .map(|(verb, group, resource, subresource, namespace, _)| {
            json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": {
                "user": sa, "groups": sa_groups, "resourceAttributes": {"verb": verb, "group": group,
                "resource": resource, "subresource": subresource, "namespace": namespace}}})
        })
        .collect();
    let list = json!({"apiVersion": "v1", "kind": "List", "items": reviews});
    // kubectl prints one JSON object per created review, one after the other.
    let printed =
        run(Command::new(&kubectl).args(["create", "-o", "json", "-f", "-"]), Some(list.to_string().as_bytes()))?
            .ok()?;
    let answers = serde_json::Deserializer::from_str(&printed)
        .into_iter::<Value>()
        .collect::<Result<Vec<Value>, _>>()
        .context("kubectl create -o json of the SubjectAccessReviews")?;
    ensure!(answers.len() == checks.len(), "{} answers for {} reviews", answers.len(), checks.len());
    let mut wrong = Vec::new();
    for ((verb, group, resource, subresource, namespace, expected), answer) in checks.iter().zip(answers) {
        let allowed = answer["status"]["allowed"] == true;
        if allowed != *expected {
            wrong.push(format!(
                "{verb} {group}/{resource}{}{} in {:?}: allowed={allowed}, expected {expected}",
                if subresource.is_empty() { "" } else { "/" },
                subresource,
                if namespace.is_empty() { "all namespaces" } else { namespace }
            ));
        }
    }
    ensure!(wrong.is_empty(), "the controller's RBAC is wrong:\n{}", wrong.join("\n"));
    Ok(())
}

/// The ConfigMaps the render server's pod mounts in [`the_render_deployment_starts_a_working_jaas_serve`]: a snippet
/// importing a sibling key by relative path and a library key by name.
const RENDER_CONFIG_MAPS: &[(&str, &[(&str, &str)])] = &[
    (
        "greeting",
        &[
            (
                "main.jsonnet",
                "function(name) { text: (import 'hello.libsonnet') + ', ' + name + (import 'mark.libsonnet') }",
            ),
            ("mark.libsonnet", "'!'"),
        ],
    ),
    ("words", &[("hello.libsonnet", "'hello'")]),
];

/// Writes (or updates) a ConfigMap volume as the kubelet does: the keys in a new directory named `version`, then
/// `..data` swapped to it with a rename, each key being a symlink through `..data`. An update is atomic this way.
fn write_config_map_volume(directory: &Path, version: &str, data: &[(&str, &str)]) -> Result<()> {
    std::fs::create_dir_all(directory.join(version))?;
    for (key, text) in data {
        std::fs::write(directory.join(version).join(key), text)?;
    }
    std::os::unix::fs::symlink(version, directory.join("..data_tmp"))?;
    std::fs::rename(directory.join("..data_tmp"), directory.join("..data"))?;
    for (key, _) in data {
        if std::fs::symlink_metadata(directory.join(key)).is_err() {
            std::os::unix::fs::symlink(format!("..data/{key}"), directory.join(key))?;
        }
    }
    Ok(())
}

/// Lays out the container's volume mounts under `rootfs`, as the kubelet would: an emptyDir is an empty directory, a
/// ConfigMap volume holds the keys of the ConfigMap of that name in [`RENDER_CONFIG_MAPS`].
fn mount_volumes(pod: &Value, container: &Value, rootfs: &Path) -> Result<()> {
    for mount in container["volumeMounts"].as_array().context("volumeMounts")? {
        let volume = volume_of(pod, mount)?;
        let target = rootfs.join(mount["mountPath"].as_str().context("mountPath")?.trim_start_matches('/'));
        std::fs::create_dir_all(&target)?;
        if let Some(config_map) = volume["configMap"]["name"].as_str() {
            let data = RENDER_CONFIG_MAPS.iter().find(|(name, _)| *name == config_map);
            let data = data.with_context(|| format!("no test data for {config_map}"))?.1;
            write_config_map_volume(&target, "..2026_01_01_00_00_00.000000001", data)?;
        } else {
            ensure!(volume["emptyDir"].is_object(), "only emptyDir and ConfigMap volumes are laid out here: {volume}");
        }
    }
    Ok(())
}

/// The container's command line with its paths moved under `rootfs`: `--flag=/path` becomes `--flag=<rootfs>/path`.
fn args_under(container: &Value, rootfs: &Path) -> Result<Vec<String>> {
    let mut args = Vec::new();
    for arg in container["args"].as_array().context("args")? {
        let arg = arg.as_str().with_context(|| format!("a non-string arg {arg}"))?;
        args.push(match arg.split_once("=/") {
            Some((flag, path)) => format!("{flag}={}", rootfs.join(path).display()),
            None => arg.to_owned(),
        });
    }
    Ok(args)
}

/// `GET url` with `Accept: application/json`: the status and the body.
async fn get_json(url: &str) -> Result<(reqwest::StatusCode, String)> {
    let request = reqwest::Client::new().get(url).header("Accept", "application/json").timeout(Duration::from_secs(30));
    let response = request.send().await.with_context(|| format!("GET {url}"))?;
    Ok((response.status(), response.text().await?))
}

/// `helm template` with render.enabled, then the render container run as a `jaas` process: its args (paths under a
/// temporary root holding its volumes), its environment (`:PORT` bind addresses on 127.0.0.1 instead of every
/// interface), its probes polled until ready, a snippet rendered through the Service's target port, and a ConfigMap
/// update (swapped in as the kubelet does) rendered without a restart.
#[tokio::test]
async fn the_render_deployment_starts_a_working_jaas_serve() -> Result<()> {
    let jaas = processes::binary("jaas")?;
    let (port, metrics_port) = (processes::free_port()?, processes::free_port()?);
    let values = format!(
        "render: {{enabled: true, port: {port}, metricsPort: {metrics_port}, snippets: {{configMaps: [greeting]}},
                  libraries: {{configMaps: [words]}}}}"
    );
    let docs = documents(&helm_template(&values, "rel", "jaas", false)?.ok()?)?;
    let pod = &find(&docs, "Deployment", "rel-jaas-render")?["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let rootfs = tempfile::tempdir()?;
    mount_volumes(pod, container, rootfs.path())?;

    let mut command = Command::new(jaas);
    command.args(args_under(container, rootfs.path())?);
    for variable in container["env"].as_array().context("env")? {
        let (name, value) = (variable["name"].as_str().context("env name")?, variable["value"].as_str().unwrap_or(""));
        if name.ends_with("BIND_ADDRESS") {
            ensure!(value.starts_with(':'), "{name}={value}: the pod listens on every interface, `:PORT`");
            command.env(name, format!("127.0.0.1{value}"));
        } else {
            command.env(name, value);
        }
    }
    let logs = tempfile::tempdir()?;
    let mut server = processes::ChildGuard::spawn("jaas-serve", command, logs.path())?;
    for probe in ["livenessProbe", "readinessProbe"] {
        let get = &container[probe]["httpGet"];
        let probe_port = container_port(container, &get["port"]).with_context(|| format!("{probe} port"))?;
        let url = format!("http://127.0.0.1:{probe_port}{}", get["path"].as_str().unwrap_or_default());
        server.wait_http_ok(&url, Duration::from_secs(30)).await?;
    }

    let service = find(&docs, "Service", "rel-jaas-render")?;
    let http = service["spec"]["ports"].as_array().and_then(|ports| ports.iter().find(|p| p["name"] == "http"));
    let target = container_port(container, &http.context("the Service has no http port")?["targetPort"]);
    let url = format!("http://127.0.0.1:{}/jsonnet/greeting?name=chart", target.context("targetPort")?);
    let (status, body) = get_json(&url).await?;
    ensure!(status == reqwest::StatusCode::OK, "GET {url}: {status} {body}\n{}", server.log_tail(20));
    let rendered: Value = serde_json::from_str(&body).with_context(|| format!("GET {url}: not JSON: {body}"))?;
    ensure!(rendered == json!({"text": "hello, chart!"}), "GET {url} rendered {rendered}");

    let snippet = rootfs.path().join("snippets/greeting");
    ensure!(snippet.is_dir(), "the snippet ConfigMap greeting is mounted at /snippets/greeting");
    let updated = [RENDER_CONFIG_MAPS[0].1[0], ("mark.libsonnet", "'?'")];
    write_config_map_volume(&snippet, "..2026_01_01_00_01_00.000000001", &updated)?;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        server.ensure_running()?;
        let (status, body) = get_json(&url).await?;
        if status == reqwest::StatusCode::OK
            && serde_json::from_str::<Value>(&body)? == json!({"text": "hello, chart?"})
        {
            break;
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "the ConfigMap update was not rendered within 20 s: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}
