"""Templates, stylesheet and script of the console (csflow/api/routes/console/)."""
