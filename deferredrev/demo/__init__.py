"""`deferredrev demo`: the whole flow on embedded defaults, printed as a person would read it."""

from deferredrev.demo.run import run_demo

__all__ = ["run_demo"]
