"""Reports the platform writes itself: the work report (工作总结) from the KPI module, as Markdown and Word."""
