"""Run the real Pulumi program under Pulumi's own mocks: no CLI, credentials or cluster."""
