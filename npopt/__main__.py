"""``python -m npopt`` runs the command-line interface."""

from npopt.cli import main

if __name__ == "__main__":
    main()
