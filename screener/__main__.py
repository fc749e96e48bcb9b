"""`python -m screener` runs the command-line interface."""

from screener.cli import main

if __name__ == "__main__":
    main()
