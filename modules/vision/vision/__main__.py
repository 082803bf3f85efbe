"""`python -m vision`: the module's entry point (Dockerfile CMD and `central up`)."""

from vision.app import build_module

if __name__ == "__main__":
    build_module().run()
