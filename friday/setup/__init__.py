"""The setup guide: a new install's first steps, a checklist on the dashboard, and "grow into it" suggestions."""
