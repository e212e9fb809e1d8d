import concurrent.futures
import multiprocessing
import time
import urllib.request


def main():
    sites = [
        "https://www.jython.org",
        "http://olympus.realpython.org/dice",
    ] * 80
    start_time = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor() as executor:
        list(executor.map(download_site, sites))
    duration = time.perf_counter() - start_time
    print(f"Downloaded {len(sites)} sites in {duration} seconds")


def download_site(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        name = multiprocessing.current_process().name
        print(f"{name}:Read {len(response.read())} bytes from {url}", flush=True)


if __name__ == "__main__":
    main()
