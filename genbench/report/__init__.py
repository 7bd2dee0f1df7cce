"""genbench.report, the summary module of plugin API 2.0: its names a reporter plugin imported
(ReportView, GroupSummary, summarize) still resolve, with a deprecation warning naming their new
home (genbench.api.compat.MOVED_NAMES). The renderers live in the reporter plugins."""


def __getattr__(name: str):
    from genbench.api import compat

    return compat.moved_attribute(__name__, name)
