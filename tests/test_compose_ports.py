"""Test stacks pick free host ports; one taken before Docker binds it is moved, not fatal."""

from __future__ import annotations

from tests.support.compose import ComposeProject

TAKEN = (
    "Error response from daemon: driver failed programming external connectivity on endpoint "
    "aiops-e2e-af9599-checkout-1 (14c3): Bind for 127.0.0.1:56529 failed: port is already allocated"
)


def test_the_port_docker_found_taken_gets_a_new_free_one() -> None:
    project = ComposeProject(
        "aiops-test", {}, ports={"CHECKOUT_PORT": 56529, "PAYMENT_PORT": 56530}
    )
    assert project._move_taken_port(TAKEN)
    assert project.ports["CHECKOUT_PORT"] != 56529
    assert project.env["CHECKOUT_PORT"] == str(project.ports["CHECKOUT_PORT"])
    assert project.ports["PAYMENT_PORT"] == 56530


def test_other_failures_and_ports_of_no_variable_are_not_retried() -> None:
    project = ComposeProject("aiops-test", {}, ports={"CHECKOUT_PORT": 41000})
    assert not project._move_taken_port("container aiops-test-analyzer-1 is unhealthy")
    assert not project._move_taken_port(TAKEN)  # 56529 is none of this project's ports
    assert project.ports == {"CHECKOUT_PORT": 41000}


def test_a_port_the_kernel_refused_moves_too_and_a_range_moves_as_a_pair() -> None:
    """Docker's other wording ("address already in use"), for one port of a two-port range:
    the range gets a new free pair."""
    project = ComposeProject("aiops-test", {"ANALYZER_PORT": "40603-40604"}, ports={})
    project.ports["ANALYZER_PORT"] = 40603
    refused = (
        "Error starting userland proxy: listen tcp4 127.0.0.1:40604: bind: address already in use"
    )
    assert project._move_taken_port(refused)
    first = project.ports["ANALYZER_PORT"]
    assert first != 40603
    assert project.env["ANALYZER_PORT"] == f"{first}-{first + 1}"
