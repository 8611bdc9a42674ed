from formcheck.cli import main

if __name__ == "__main__":  # not in a spawned child process (pose.segments), which imports it
    main()
