"""Processes: the business's terms and flowcharts — declared, drawn, checked, enforced and measured."""
