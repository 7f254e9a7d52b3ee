"""The API server's request counters, as the e2e benches read them (bench-sources.sh, bench-scale.sh): the
apiserver_request_total series of its /metrics summed by verb and resource, and which of those requests are on
JaaS's resources. Each bench copies this file beside the measure.py it writes, which imports it."""
import re

# The API groups of what JaaS reads and writes (events: "" or events.k8s.io); requests on others come from
# kube-controller-manager and the API server itself and are listed apart.
JAAS_GROUPS = {"jaas.metio.wtf", "source.toolkit.fluxcd.io", "events.k8s.io", "coordination.k8s.io"}


def request_totals(text):
    """apiserver_request_total of resource requests in the /metrics `text`, summed by
    `VERB resource[/subresource] group`."""
    totals = {}
    for line in text.splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}", 1)[0]))
        if not labels.get("resource"):
            continue  # /metrics, discovery and other non-resource URLs
        resource = labels["resource"] + ("/" + labels["subresource"] if labels.get("subresource") else "")
        key = f"{labels['verb']} {resource} {labels.get('group') or 'core'}"
        totals[key] = totals.get(key, 0) + float(line.rsplit(" ", 1)[1])
    return totals


def is_jaas(key):
    """Whether the requests a key of request_totals() counts are on JaaS's resources."""
    _verb, resource, group = key.split()
    return group in JAAS_GROUPS or (group == "core" and resource == "events")
