import time
import urllib.request


def main():
    sites = [
        "https://www.jython.org",
        "http://olympus.realpython.org/dice",
    ] * 80
    start_time = time.perf_counter()
    for url in sites:
        download_site(url)
    duration = time.perf_counter() - start_time
    print(f"Downloaded {len(sites)} sites in {duration} seconds")


def download_site(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        print(f"Read {len(response.read())} bytes from {url}")


if __name__ == "__main__":
    main()
