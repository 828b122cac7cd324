from cs_analytics.cli import main

main(prog_name="python -m cs_analytics")
