"""The Dagster code location of the fleet: one job and schedule per company of companies.yml.

Each company's job runs `meltano --environment <env> run --state-id-suffix <company>
tap-intacct target-mailchimp` in the project, with the company's settings as environment
variables. See docs/fleet.md.
"""
