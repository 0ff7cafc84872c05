"""``metalscope policy``: the API's policy rules, for operators writing a policy file."""

from __future__ import annotations

import click

from metalscope.cli.options import config_options, load_cli_settings
from metalscope.errors import ConfigurationError
from metalscope.policy import PolicyEnforcer, sample_policy


@click.group("policy")
def policy() -> None:
    """Show the API's access policy (auth_strategy = keystone)."""


@policy.command("defaults")
def defaults_command() -> None:
    """Print a sample policy.yaml: every rule with its default, commented out."""
    click.echo(sample_policy(), nl=False)


@policy.command("show")
@config_options
def show_command(config_files: tuple[str, ...], config_dirs: tuple[str, ...]) -> None:
    """Print the rules in force with this configuration ([oslo_policy] and its policy file)."""
    settings = load_cli_settings(config_files, config_dirs)
    try:
        rules = PolicyEnforcer(settings).effective_rules()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc
    for name, check in rules.items():
        click.echo(f'"{name}": "{check}"')
