//! Checks the Helm chart `charts/jaas` with the real tools: `helm lint`; `helm template` of every supported values
//! combination, validated by `kubernetes-validate --strict` (Kubernetes 1.32 schemas) and checked for the storage
//! rule, pod security and least-privilege RBAC; the `fail` messages of impossible combinations; a server-side dry
//! run against the test API server; and the controller's permissions asked of that server with `kubectl auth can-i`.
//! Needs `JAAS_HELM`, `JAAS_KUBECTL`, `KUBECONFIG` and `kubernetes-validate` on PATH (`bash e2e/run-tests.sh`).

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, ensure};
use jaas_e2e::{repo_root, required_env, run};
use serde_json::{Value, json};

/// A supported values combination, the kinds its rendering must contain and whether the server runs separately.
struct Case {
    name: &'static str,
    values: &'static str,
    kinds: &'static [&'static str],
    separate_server: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "local emptyDir (defaults)",
        values: "",
        kinds: &["Deployment", "Service", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"],
        separate_server: false,
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
    },
    Case {
        name: "local PVC ReadWriteOnce",
        values: "operator: {storage: {persistence: {enabled: true, storageClass: '-', annotations: {helm.sh/resource-policy: keep}}}}",
        kinds: &["PersistentVolumeClaim"],
        separate_server: false,
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

/// RBAC: cluster-wide only our CRDs, ExternalArtifacts and Events, never a wildcard; namespaced only Leases.
fn check_rbac(docs: &[Value]) -> Result<()> {
    let allowed = [
        ("jaas.metio.wtf", "jsonnetsnippets"),
        ("jaas.metio.wtf", "jsonnetlibraries"),
        ("source.toolkit.fluxcd.io", "externalartifacts"),
        ("", "events"),
        ("events.k8s.io", "events"),
    ];
    for role in docs.iter().filter(|d| kind(d) == "ClusterRole" || kind(d) == "Role") {
        for rule in role["rules"].as_array().context("rules")? {
            let strings = |key: &str| -> Vec<&str> {
                rule[key].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
            };
            ensure!(!strings("verbs").contains(&"*"), "{}: no wildcard verbs", name(role));
            for group in strings("apiGroups") {
                for resource in strings("resources") {
                    let base = resource.split('/').next().unwrap_or_default();
                    let ok = if kind(role) == "Role" {
                        group == "coordination.k8s.io" && resource == "leases"
                    } else {
                        allowed.contains(&(group, base))
                    };
                    ensure!(
                        ok,
                        "{} {}: grants {group}/{resource}, which the controller does not need",
                        kind(role),
                        name(role)
                    );
                }
            }
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
        check_rbac(&docs).with_context(|| case.name)?;
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
        ("update", "jaas.metio.wtf", "jsonnetsnippets", "finalizers", "apps", true),
        ("create", "source.toolkit.fluxcd.io", "externalartifacts", "", "apps", true),
        ("delete", "source.toolkit.fluxcd.io", "externalartifacts", "", "apps", true),
        ("patch", "source.toolkit.fluxcd.io", "externalartifacts", "status", "apps", true),
        ("create", "", "events", "", "apps", true),
        ("create", "events.k8s.io", "events", "", "apps", true),
        ("update", "coordination.k8s.io", "leases", "", &ns, true),
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
