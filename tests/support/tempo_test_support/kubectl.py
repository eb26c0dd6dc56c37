"""`kubectl apply -f -` for tests: create the documents of a YAML stream through the official client."""

from __future__ import annotations

import os

import yaml

__all__ = ["kubectl_apply"]


def kubectl_apply(text: str) -> list[str]:
    """Create each object of the YAML stream `text` in the cluster `$KUBECONFIG` names; return `kind/name` of each.

    Goes through `kubernetes.utils.create_from_dict`, so the requests are the official client's, as a user's
    `kubectl apply` of new objects would make them.
    """
    from kubernetes import config, utils

    client = config.new_client_from_config(os.environ["KUBECONFIG"])
    created = []
    for document in yaml.safe_load_all(text):
        if document:
            utils.create_from_dict(client, document, namespace=document["metadata"].get("namespace", "default"))
            created.append(f"{document['kind']}/{document['metadata']['name']}")
    return created
