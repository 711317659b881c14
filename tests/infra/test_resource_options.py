"""Resource options are behaviour the engine acts on, and Pulumi's mocks never see them: a stack transformation
records them (`testbed.program.RecordedOptions`), and each option the stack relies on is asserted with its reason."""

from __future__ import annotations

import pytest

from testbed.program import CONTAINER, Program, run_program

COMPONENT_PREFIX = "pipelining-data:"


@pytest.fixture(scope="module", params=["zookeeper", "kraft"])
def program(request: pytest.FixtureRequest) -> Program:
    return run_program(config={"kafkaMode": request.param})


def test_every_resource_s_options_are_recorded(program: Program) -> None:
    assert {(resource.typ, resource.name) for resource in program.resources} <= set(program.options)


def test_containers_are_deleted_before_their_replacement_starts(program: Program) -> None:
    """Each container has a fixed name and fixed host ports: created beside the old one, Docker refuses it
    ("name already in use" / "port is already allocated") and `up` fails half-way."""
    for container in program.of_type(CONTAINER):
        assert program.options[(CONTAINER, container.name)].delete_before_replace, container.name


def test_grafana_objects_are_managed_through_the_stack_s_own_provider(program: Program) -> None:
    """Without the explicit provider, Grafana's default provider would read GRAFANA_URL and GRAFANA_AUTH from
    whatever shell runs `pulumi up`, or fail: the datasource, folder, dashboard and rules must go to this
    stack's Grafana with its generated admin password."""
    grafana_objects = [key for key in program.options if key[0].startswith("grafana:")]
    assert {name for _, name in grafana_objects} == {"clickhouse", "folder", "market-dashboard", "pipeline-alerts"}
    for key in grafana_objects:
        assert program.options[key].provider == ("pulumi:providers:grafana", "grafana-provider"), key


def test_every_resource_lives_under_its_service_s_component(program: Program) -> None:
    """A resource's URN includes its parent's type: moving a resource to another parent, or dropping the parent,
    gives it a new URN, and `up` on an existing stack would delete and recreate it (volumes and their data
    included). Only the components themselves and the stack's network sit at the top."""
    top_level = {key for key, options in program.options.items() if options.parent is None}
    assert top_level == {key for key in program.options if key[0].startswith(COMPONENT_PREFIX)} | {
        ("docker:index/network:Network", "network")
    }
    for key, options in program.options.items():
        if options.parent is not None:
            assert options.parent[0].startswith(COMPONENT_PREFIX), key


def test_nothing_blocks_destroy_or_outlives_it(program: Program) -> None:
    """`make destroy` removes the whole stack: a protected resource would make it fail, a retained one would
    leave a container, volume or object behind that the next `make up` of the same name collides with."""
    for key, options in program.options.items():
        assert not options.protect, key
        assert not options.retain_on_delete, key


def test_no_input_is_hidden_from_the_diff(program: Program) -> None:
    """Every input is the program's own: an ignored change would deploy config that `preview` never showed."""
    for key, options in program.options.items():
        assert options.ignore_changes == (), key
