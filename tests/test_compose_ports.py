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
