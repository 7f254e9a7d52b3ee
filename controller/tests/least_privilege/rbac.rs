//! The chart's RBAC for the controller as `helm template` renders it (`JAAS_HELM`, required), applied to the test API
//! server under a release of its own: the ServiceAccount, the ClusterRole and Role, their bindings. One permission
//! (a verb on a resource) can be taken away and given back, and the ServiceAccount's token (TokenRequest API) is
//! written into a kubeconfig of its own, for the same server and CA as `KUBECONFIG`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// The label on every object a test run applies, so that the cluster-scoped ones can be deleted together.
pub const RUN_LABEL: &str = "jaas.metio.wtf/least-privilege-run";

/// The field manager of everything applied here.
const FIELD_MANAGER: &str = "jaas-least-privilege-test";

/// One permission: `verb` on `resource` (with its subresource, e.g. `jsonnetsnippets/status`) of API group `group`,
/// granted by the chart's `role_kind` (`ClusterRole` or `Role`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Permission {
    /// `ClusterRole` or `Role`.
    pub role_kind: String,
    /// The API group (`""` for the core group).
    pub group: String,
    /// The resource, `resource/subresource` for a subresource.
    pub resource: String,
    /// The verb.
    pub verb: String,
}

impl Permission {
    /// What the API server's RBAC denial says about this permission, word for word:
    /// `... cannot <verb> resource "<resource>" in API group "<group>" ...`.
    pub fn denial(&self) -> String {
        format!("cannot {} resource \"{}\" in API group \"{}\"", self.verb, self.resource, self.group)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let group = if self.group.is_empty() { "core" } else { &self.group };
        write!(f, "{} {} ({group}, {})", self.verb, self.resource, self.role_kind)
    }
}

/// The RBAC objects of one release of the chart.
pub struct ChartRbac {
    /// The release name.
    pub release: String,
    /// The release namespace: the ServiceAccount, the leader-election Role and the Lease live there.
    pub namespace: String,
    objects: Vec<Value>,
}

impl ChartRbac {
    /// `helm template <release> charts/jaas --namespace <namespace>` with the chart's defaults, plus
    /// `controller.watchNamespaces` when `watch_namespaces` is not empty (the namespace-scoped mode); only the
    /// ServiceAccount, roles and bindings are kept, each labelled with [`RUN_LABEL`]=`run`.
    pub fn render(release: &str, namespace: &str, watch_namespaces: &[&str], run: &str) -> Self {
        let helm = std::env::var("JAAS_HELM").unwrap_or_default();
        assert!(
            !helm.is_empty(),
            "JAAS_HELM is not set: this test renders the chart with helm. `bash e2e/helm-get.sh` installs it into \
             ~/.cache/jaas-e2e/bin; then export JAAS_HELM=~/.cache/jaas-e2e/bin/helm (e2e/run-tests.sh does)"
        );
        let chart = Path::new(env!("CARGO_MANIFEST_DIR")).join("../charts/jaas");
        let mut command = Command::new(&helm);
        command.args(["template", release]).arg(chart).args(["--namespace", namespace]);
        if !watch_namespaces.is_empty() {
            command.arg("--set-json").arg(format!("controller.watchNamespaces={}", json!(watch_namespaces)));
        }
        let output = command.output().unwrap_or_else(|e| panic!("cannot run {helm}: {e}"));
        assert!(output.status.success(), "helm template failed: {}", String::from_utf8_lossy(&output.stderr));
        let documents: Vec<Value> = serde_saphyr::from_multiple(&String::from_utf8(output.stdout).unwrap()).unwrap();
        let objects = documents
            .into_iter()
            .filter(|d| {
                let kind = d["kind"].as_str().unwrap_or_default();
                let controller = d["metadata"]["labels"]["app.kubernetes.io/component"] == "controller";
                controller
                    && matches!(kind, "ServiceAccount" | "ClusterRole" | "ClusterRoleBinding" | "Role" | "RoleBinding")
            })
            .map(|mut d| {
                d["metadata"]["labels"][RUN_LABEL] = json!(run);
                d
            })
            .collect();
        Self { release: release.to_owned(), namespace: namespace.to_owned(), objects }
    }

    fn of_kind(&self, kind: &str) -> impl Iterator<Item = &Value> {
        self.objects.iter().filter(move |o| o["kind"] == kind)
    }

    /// The controller's ServiceAccount.
    pub fn service_account(&self) -> String {
        let account = self.of_kind("ServiceAccount").next().expect("the chart renders the controller's ServiceAccount");
        account["metadata"]["name"].as_str().unwrap().to_owned()
    }

    /// The name of the leader-election Lease the chart configures (`<fullname>-controller`).
    pub fn lease_name(&self) -> String {
        self.service_account()
    }

    /// Every permission the chart grants the controller: each verb on each resource of each rule, in chart order.
    pub fn permissions(&self) -> Vec<Permission> {
        let mut permissions = Vec::new();
        for role in self.of_kind("ClusterRole").chain(self.of_kind("Role")) {
            for rule in role["rules"].as_array().expect("rules") {
                permissions.extend(expand(role["kind"].as_str().unwrap(), rule));
            }
        }
        permissions
    }

    /// Applies the ServiceAccount, roles and bindings, the roles without the permissions `without` lists.
    pub async fn apply(&self, client: &Client, without: &[Permission]) {
        for object in &self.objects {
            let kind = object["kind"].as_str().unwrap();
            let mut object = object.clone();
            let removed: Vec<&Permission> = without.iter().filter(|p| p.role_kind == kind).collect();
            if !removed.is_empty() {
                let rules = object["rules"].as_array().unwrap().clone();
                object["rules"] = json!(rules_without(kind, &rules, &removed));
            }
            match kind {
                "ServiceAccount" => apply_namespaced::<ServiceAccount>(client, object).await,
                "ClusterRole" => apply_cluster::<ClusterRole>(client, object).await,
                "ClusterRoleBinding" => apply_cluster::<ClusterRoleBinding>(client, object).await,
                "Role" => apply_namespaced::<Role>(client, object).await,
                "RoleBinding" => apply_namespaced::<RoleBinding>(client, object).await,
                other => panic!("unexpected kind {other}"),
            }
        }
    }

    /// Writes a kubeconfig into `dir` for the controller's ServiceAccount: a TokenRequest token, the server and CA
    /// of the admin's `KUBECONFIG`.
    pub async fn kubeconfig(&self, client: &Client, dir: &Path) -> PathBuf {
        let request = TokenRequest {
            spec: TokenRequestSpec { expiration_seconds: Some(3600), ..TokenRequestSpec::default() },
            ..TokenRequest::default()
        };
        let accounts = Api::<ServiceAccount>::namespaced(client.clone(), &self.namespace);
        let token = accounts
            .create_token_request(&self.service_account(), &PostParams::default(), &request)
            .await
            .expect("the TokenRequest API mints a token for the ServiceAccount")
            .status
            .expect("a TokenRequest answer has a status")
            .token;
        let admin = kube::config::Kubeconfig::read().expect("KUBECONFIG is readable");
        let context_name = admin.current_context.clone().expect("KUBECONFIG has a current context");
        let context = admin.contexts.iter().find(|c| c.name == context_name).and_then(|c| c.context.clone()).unwrap();
        let cluster =
            admin.clusters.iter().find(|c| c.name == context.cluster).and_then(|c| c.cluster.clone()).unwrap();
        let mut cluster_entry = json!({"server": cluster.server});
        if let Some(data) = cluster.certificate_authority_data {
            cluster_entry["certificate-authority-data"] = json!(data);
        }
        if let Some(file) = cluster.certificate_authority {
            cluster_entry["certificate-authority"] = json!(file);
        }
        let user = format!("system:serviceaccount:{}:{}", self.namespace, self.service_account());
        let kubeconfig = json!({
            "apiVersion": "v1", "kind": "Config", "current-context": "controller",
            "clusters": [{"name": "test", "cluster": cluster_entry}],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": "controller", "context": {"cluster": "test", "user": user}}],
        });
        let path = dir.join(format!("{}.kubeconfig", self.release));
        std::fs::write(&path, serde_json::to_vec_pretty(&kubeconfig).unwrap()).unwrap();
        path
    }
}

/// The permissions one rule grants.
fn expand(role_kind: &str, rule: &Value) -> Vec<Permission> {
    let strings = |key: &str| -> Vec<String> {
        rule[key]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let mut permissions = Vec::new();
    for group in strings("apiGroups") {
        for resource in strings("resources") {
            for verb in strings("verbs") {
                let (group, resource) = (group.clone(), resource.clone());
                permissions.push(Permission { role_kind: role_kind.to_owned(), group, resource, verb });
            }
        }
    }
    permissions
}

/// The rules of a `role_kind` granting what `rules` grant but `removed`: one rule per group and resource.
fn rules_without(role_kind: &str, rules: &[Value], removed: &[&Permission]) -> Vec<Value> {
    let mut kept: Vec<(String, String, Vec<String>)> = Vec::new();
    for permission in rules.iter().flat_map(|rule| expand(role_kind, rule)).filter(|p| !removed.contains(&p)) {
        match kept.iter_mut().find(|(g, r, _)| *g == permission.group && *r == permission.resource) {
            Some((_, _, verbs)) => verbs.push(permission.verb),
            None => kept.push((permission.group, permission.resource, vec![permission.verb])),
        }
    }
    kept.into_iter()
        .map(|(group, resource, verbs)| json!({"apiGroups": [group], "resources": [resource], "verbs": verbs}))
        .collect()
}

/// Server-side applies the namespaced `object` (a rule list is atomic, so new rules replace the old ones).
async fn apply_namespaced<K>(client: &Client, object: Value)
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope> + Clone + fmt::Debug + Serialize + DeserializeOwned,
{
    let typed: K = serde_json::from_value(object).unwrap();
    let namespace = typed.meta().namespace.clone().expect("the chart names the namespace of namespaced objects");
    apply_with(&Api::<K>::namespaced(client.clone(), &namespace), &typed).await;
}

/// Server-side applies the cluster-scoped `object`.
async fn apply_cluster<K>(client: &Client, object: Value)
where
    K: Resource<DynamicType = (), Scope = ClusterResourceScope> + Clone + fmt::Debug + Serialize + DeserializeOwned,
{
    let typed: K = serde_json::from_value(object).unwrap();
    apply_with(&Api::<K>::all(client.clone()), &typed).await;
}

async fn apply_with<K>(api: &Api<K>, object: &K)
where
    K: Resource<DynamicType = ()> + Clone + fmt::Debug + Serialize + DeserializeOwned,
{
    let name = object.meta().name.clone().unwrap();
    api.patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(object))
        .await
        .unwrap_or_else(|e| panic!("cannot apply {} {name}: {e}", K::kind(&())));
}

/// Deletes the cluster-scoped objects of the run `run` (namespaced ones go with their namespaces).
pub async fn delete_cluster_objects(client: &Client, run: &str) {
    delete_labelled(&Api::<ClusterRoleBinding>::all(client.clone()), run).await;
    delete_labelled(&Api::<ClusterRole>::all(client.clone()), run).await;
}

async fn delete_labelled<K>(api: &Api<K>, run: &str)
where
    K: Resource<DynamicType = ()> + Clone + fmt::Debug + DeserializeOwned,
{
    let selector = ListParams::default().labels(&format!("{RUN_LABEL}={run}"));
    let names = match api.list_metadata(&selector).await {
        Ok(list) => list.items.into_iter().filter_map(|o| o.metadata.name).collect(),
        Err(error) => {
            eprintln!("cannot list the {}s of run {run} to delete them: {error}", K::kind(&()));
            Vec::new()
        }
    };
    for name in names {
        if let Err(error) = api.delete(&name, &DeleteParams::default()).await {
            eprintln!("cannot delete {} {name}: {error}", K::kind(&()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taking_one_permission_away_keeps_every_other_one() {
        let rules = [
            json!({"apiGroups": ["a"], "resources": ["x", "y"], "verbs": ["get", "list"]}),
            json!({"apiGroups": ["b"], "resources": ["z"], "verbs": ["create"]}),
        ];
        let removed =
            Permission { role_kind: "Role".into(), group: "a".into(), resource: "x".into(), verb: "get".into() };
        let kept = rules_without("Role", &rules, &[&removed]);
        let before: Vec<Permission> = rules.iter().flat_map(|r| expand("Role", r)).collect();
        let after: Vec<Permission> = kept.iter().flat_map(|r| expand("Role", r)).collect();
        assert_eq!(after.len(), before.len() - 1);
        assert!(before.iter().filter(|p| **p != removed).all(|p| after.contains(p)));
        assert!(!after.contains(&removed));
    }
}
