"""How a refused child reads on the CR's status."""

from litemaas_operator.controller.refusals import describe

ROUTE = {"kind": "Route", "metadata": {"name": "litemaas", "namespace": "team-a"}}
DENIED = (
    'admission webhook "routes.example" denied the request: Route.route.openshift.io "litemaas"'
    " is invalid: spec.host: Forbidden: you do not have permission to set the host field of"
    " the route"
)


def test_a_refused_custom_host_names_the_missing_right_and_the_way_out():
    text = describe(ROUTE, DENIED)
    assert text.startswith(f"Route litemaas: {DENIED}")
    assert "create and update on routes/custom-host in namespace team-a" in text
    assert "restore that rule of its ClusterRole" in text


def test_other_refusals_are_the_servers_words_only():
    message = 'Route.route.openshift.io "litemaas" is invalid: spec.path: must begin with /'
    assert describe(ROUTE, message) == f"Route litemaas: {message}"
    secret = {"kind": "Secret", "metadata": {"name": "x", "namespace": "team-a"}}
    assert describe(secret, DENIED) == f"Secret x: {DENIED}"
