#include "cli/batch.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>
#include <unistd.h>

#include "cli/files.h"

namespace nnport {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;  // keys in the order written
using Clock = std::chrono::steady_clock;

namespace {

// --- interruption ---------------------------------------------------------------------------

// Set by SIGINT/SIGTERM: no new file starts; the files in progress finish (each takes
// milliseconds), so no output file is ever half written.
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

extern "C" void on_stop_signal(int) { g_stop = true; }

// Installs the handler for the run and puts the previous ones back afterwards (the engine
// also runs inside Python, which has its own). A second signal gets the default action.
class StopSignals {
 public:
  StopSignals() {
    g_stop = false;
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

// --- the files ------------------------------------------------------------------------------

struct Job {
  fs::path source;      // as the user named it (diagnostics show this)
  std::string rel;      // relative path, '/'-separated: the output's and the manifest's key
  fs::path output;
  Options options;
};

enum class Status { NotDone, Migrated, Warnings, Failed, NoModel };

const char* status_name(Status s) {
  switch (s) {
    case Status::Migrated: return "migrated";
    case Status::Warnings: return "warnings";
    case Status::Failed: return "failed";
    case Status::NoModel: return "no-model";
    case Status::NotDone: break;
  }
  return "not-done";
}

struct Outcome {
  Status status = Status::NotDone;
  bool copied = false;  // a file with no model of the source framework, copied as is
  double seconds = 0;
  std::vector<Diagnostic> diagnostics;
};

bool is_skipped_dir(const fs::path& p) {
  std::string name = p.filename().string();
  return (!name.empty() && name[0] == '.') || name == "__pycache__";
}

fs::path canonical_or_absolute(const fs::path& p) {
  std::error_code ec;
  fs::path c = fs::weakly_canonical(p, ec);
  return ec ? fs::absolute(p) : c;
}

bool is_within(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin(), o = outer.begin();
  for (; o != outer.end(); ++o, ++i)
    if (i == inner.end() || *i != *o) return false;
  return true;
}

// The folder that relative paths start from: the one folder given, else the deepest
// common folder of everything given (a file counts by its folder).
fs::path common_base(const std::vector<std::string>& sources) {
  std::vector<fs::path> dirs;
  for (const auto& s : sources) {
    fs::path p = canonical_or_absolute(s);
    dirs.push_back(fs::is_directory(p) ? p : p.parent_path());
  }
  if (sources.size() == 1 && fs::is_directory(sources[0])) return dirs[0];
  fs::path base = dirs[0];
  for (const auto& d : dirs) {
    fs::path common;
    for (auto a = base.begin(), b = d.begin(); a != base.end() && b != d.end() && *a == *b; ++a, ++b) common /= *a;
    base = common;
  }
  return base;
}

std::vector<Job> collect(const BatchOptions& bo, std::string& error) {
  std::vector<Job> jobs;
  fs::path base = common_base(bo.sources);
  fs::path out_dir = canonical_or_absolute(bo.out_dir);
  auto add = [&](const fs::path& file) {
    fs::path rel = canonical_or_absolute(file).lexically_relative(base);
    Job j;
    j.source = file;
    j.rel = rel.generic_string();
    j.output = fs::path(bo.out_dir) / rel;
    j.options = bo.convert;
    jobs.push_back(std::move(j));
  };
  for (const auto& s : bo.sources) {
    std::error_code ec;
    if (fs::is_directory(s, ec)) {
      std::vector<fs::path> found;
      fs::recursive_directory_iterator it(s, fs::directory_options::skip_permission_denied, ec), end;
      for (; !ec && it != end; it.increment(ec)) {
        const auto& entry = *it;
        if (entry.is_directory(ec)) {
          if (is_skipped_dir(entry.path()) || is_within(canonical_or_absolute(entry.path()), out_dir))
            it.disable_recursion_pending();
          continue;
        }
        if (entry.path().extension() == ".py" && entry.is_regular_file(ec)) found.push_back(entry.path());
      }
      if (ec) {
        error = fmt::format("cannot read the folder {}: {}", s, ec.message());
        return {};
      }
      std::sort(found.begin(), found.end());
      for (const auto& f : found) add(f);
    } else if (fs::is_regular_file(s, ec)) {
      add(s);
    } else {
      error = fmt::format("{}: no such file or folder", s);
      return {};
    }
  }
  // The same file named twice (a folder and a file in it) is migrated once.
  std::stable_sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) { return a.rel < b.rel; });
  jobs.erase(std::unique(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) { return a.rel == b.rel; }),
             jobs.end());
  return jobs;
}

// --- one file -------------------------------------------------------------------------------

// An error about a whole file (it cannot be read or written).
Diagnostic file_error(const std::string& file, std::string message) {
  Diagnostic d;
  d.loc.file = file;
  d.message = std::move(message);
  return d;
}

Outcome migrate_one(const Job& job) {
  auto start = Clock::now();
  Outcome o;
  std::string text, error;
  if (!read_file(job.source.string(), text)) {
    o.status = Status::Failed;
    o.diagnostics.push_back(file_error(job.source.string(), "cannot read the file"));
  } else {
    Result r = convert(text, job.source.string(), job.options);
    o.diagnostics = r.diagnostics;
    if (r.ok) {
      bool warned = std::any_of(r.diagnostics.begin(), r.diagnostics.end(),
                                [](const Diagnostic& d) { return d.severity == Severity::Warning; });
      o.status = warned ? Status::Warnings : Status::Migrated;
      if (!write_file_atomically(job.output.string(), r.output, error)) {
        o.status = Status::Failed;
        o.diagnostics.push_back(file_error(job.output.string(), error));
      }
    } else if (r.no_model) {
      o.status = Status::NoModel;
      // Code of neither framework, or already of the target's, belongs in the migrated
      // tree as it is (helpers, configuration); a source-framework file without a model
      // would not run there, so it is only reported.
      if (r.framework.empty() || r.framework == job.options.to) {
        o.copied = write_file_atomically(job.output.string(), text, error);
        if (!o.copied) o.diagnostics.push_back(file_error(job.output.string(), error));
      }
    } else {
      o.status = Status::Failed;
    }
  }
  o.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return o;
}

std::string first_error(const Outcome& o) {
  for (const auto& d : o.diagnostics)
    if (d.severity == Severity::Error) return d.message;
  return "";
}

std::string located(const Diagnostic& d) {
  if (!d.loc.known()) return d.loc.file.empty() ? d.message : fmt::format("{}: {}", d.loc.file, d.message);
  return fmt::format("{}:{}:{}: {}", d.loc.file, d.loc.line, d.loc.column, d.message);
}

// --- progress -------------------------------------------------------------------------------

class Progress {
 public:
  Progress(size_t total) : total_(total), tty_(isatty(STDERR_FILENO)), start_(Clock::now()) {}

  // A file finished (called from the worker threads).
  void done(const Job& job, const Outcome& o) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++done_;
    if (o.status == Status::Failed) ++failed_;
    if (tty_) return;  // the bar is redrawn by the main thread
    std::string what = o.status == Status::Failed ? "FAILED" : o.status == Status::NoModel ? "no model" : status_name(o.status);
    std::string detail;
    for (const auto& d : o.diagnostics)
      if (d.severity == Severity::Error) {
        detail = "  " + located(d);
        break;
      }
    std::cerr << fmt::format("[{:>{}}/{}] {:<8} {}{}\n", done_, std::to_string(total_).size(), total_, what, job.rel,
                             o.status == Status::Failed ? detail : "");
  }

  void draw(bool final = false) {
    if (!tty_) return;
    std::lock_guard<std::mutex> lock(mutex_);
    double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    constexpr int kWidth = 30;
    int filled = total_ ? static_cast<int>(kWidth * done_ / total_) : kWidth;
    std::string eta = "--";
    if (done_ > 0 && done_ < total_) {
      double left = elapsed / static_cast<double>(done_) * static_cast<double>(total_ - done_);
      eta = fmt::format("{}:{:02}", static_cast<int>(left) / 60, static_cast<int>(left) % 60);
    }
    std::cerr << fmt::format("\r\x1b[K[{}{}] {}/{} files, {} failed, ETA {}", std::string(filled, '#'),
                             std::string(kWidth - filled, '.'), done_, total_, failed_, final ? "0:00" : eta);
    if (final) std::cerr << "\r\x1b[K";
    std::cerr.flush();
  }

 private:
  std::mutex mutex_;
  size_t total_, done_ = 0, failed_ = 0;
  bool tty_;
  Clock::time_point start_;
};

// --- summary and report ---------------------------------------------------------------------

struct Counts {
  size_t migrated = 0, warnings = 0, failed = 0, no_model = 0, copied = 0, not_done = 0;
};

Counts count(const std::vector<Outcome>& outcomes) {
  Counts c;
  for (const auto& o : outcomes) {
    switch (o.status) {
      case Status::Migrated: ++c.migrated; break;
      case Status::Warnings: ++c.warnings; break;
      case Status::Failed: ++c.failed; break;
      case Status::NoModel: ++c.no_model; break;
      case Status::NotDone: ++c.not_done; break;
    }
    if (o.copied) ++c.copied;
  }
  return c;
}

// The most frequent first errors of the failed files, most frequent first.
std::vector<std::pair<std::string, size_t>> top_failures(const std::vector<Outcome>& outcomes, size_t n) {
  std::map<std::string, size_t> by_message;
  for (const auto& o : outcomes)
    if (o.status == Status::Failed) ++by_message[first_error(o)];
  std::vector<std::pair<std::string, size_t>> top(by_message.begin(), by_message.end());
  std::stable_sort(top.begin(), top.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (top.size() > n) top.resize(n);
  return top;
}

// The failed files, each with its first error, at most `n`.
std::string failed_files(const std::vector<Job>& jobs, const std::vector<Outcome>& outcomes, size_t n) {
  std::string s;
  size_t shown = 0, failed = 0;
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (outcomes[i].status != Status::Failed) continue;
    if (++failed > n) continue;
    ++shown;
    for (const auto& d : outcomes[i].diagnostics)
      if (d.severity == Severity::Error) {
        s += "  " + located(d) + "\n";
        break;
      }
  }
  if (failed > shown) s += fmt::format("  ... and {} more (--report lists every file)\n", failed - shown);
  return s.empty() ? s : "failed files:\n" + s;
}

std::string summary(const Counts& c, size_t files, double seconds, unsigned jobs, bool interrupted,
                    const std::vector<std::pair<std::string, size_t>>& top) {
  std::string s;
  if (interrupted) s += fmt::format("interrupted: {} of {} files done\n", files - c.not_done, files);
  s += fmt::format("nnport convert: {} files in {:.2f} s ({} jobs)\n", files, seconds, jobs);
  s += fmt::format("  {:<24}{:>6}\n", "migrated", c.migrated);
  s += fmt::format("  {:<24}{:>6}\n", "migrated with warnings", c.warnings);
  s += fmt::format("  {:<24}{:>6}\n", "failed", c.failed);
  s += fmt::format("  {:<24}{:>6}{}\n", "no model", c.no_model,
                   c.copied ? fmt::format("  ({} copied as they are)", c.copied) : "");
  if (c.not_done) s += fmt::format("  {:<24}{:>6}\n", "not done", c.not_done);
  if (!top.empty()) {
    s += "top failure causes:\n";
    for (const auto& [message, n] : top) s += fmt::format("  {:>4}  {}\n", n, message);
  }
  return s;
}

json diagnostic_json(const Diagnostic& d) {
  const char* severity = d.severity == Severity::Error ? "error" : d.severity == Severity::Warning ? "warning" : "note";
  json j = {{"severity", severity}, {"file", d.loc.file}, {"message", d.message}};
  if (d.loc.known()) {
    j["line"] = d.loc.line;
    j["column"] = d.loc.column;
  }
  if (!d.hint.empty()) j["hint"] = d.hint;
  return j;
}

json report_json(const BatchOptions& bo, const std::vector<Job>& jobs, const std::vector<Outcome>& outcomes,
                 const Counts& c, double seconds, unsigned threads, bool interrupted) {
  json files = json::array();
  for (size_t i = 0; i < jobs.size(); ++i) {
    const Outcome& o = outcomes[i];
    json f = {{"source", jobs[i].source.string()}, {"path", jobs[i].rel}, {"status", status_name(o.status)},
              {"seconds", o.seconds}};
    if (o.status == Status::Migrated || o.status == Status::Warnings || o.copied) f["output"] = jobs[i].output.string();
    if (o.copied) f["copied"] = true;
    if (!jobs[i].options.entry.empty()) f["entry"] = jobs[i].options.entry;
    json diagnostics = json::array();
    for (const auto& d : o.diagnostics) diagnostics.push_back(diagnostic_json(d));
    f["diagnostics"] = diagnostics;
    files.push_back(f);
  }
  json top = json::array();
  for (const auto& [message, n] : top_failures(outcomes, 10)) top.push_back({{"message", message}, {"count", n}});
  return {{"version", 1},
          {"to", bo.convert.to},
          {"style", bo.convert.style},
          {"layout", bo.convert.layout},
          {"output", bo.out_dir},
          {"jobs", threads},
          {"seconds", seconds},
          {"interrupted", interrupted},
          {"summary",
           {{"files", jobs.size()}, {"migrated", c.migrated}, {"warnings", c.warnings}, {"failed", c.failed},
            {"no_model", c.no_model}, {"copied", c.copied}, {"not_done", c.not_done}}},
          {"top_failures", top},
          {"files", files}};
}

}  // namespace

// --- manifest -------------------------------------------------------------------------------

std::map<std::string, Options> read_manifest(const std::string& path, const Options& defaults) {
  std::string text;
  if (!read_file(path, text)) throw std::invalid_argument(fmt::format("cannot read the manifest {}", path));
  json data;
  try {
    data = json::parse(text);
  } catch (const json::parse_error& e) {
    throw std::invalid_argument(fmt::format("{}: not JSON: {}", path, e.what()));
  }
  if (!data.is_object() || !data.contains("files") || !data["files"].is_object())
    throw std::invalid_argument(fmt::format("{}: expected {{\"files\": {{\"path/model.py\": {{\"entry\": ...}}}}}}", path));
  std::map<std::string, Options> out;
  for (const auto& [file, spec] : data["files"].items()) {
    auto where = [&, &file = file](const std::string& what) {
      return std::invalid_argument(fmt::format("{}: files[\"{}\"]: {}", path, file, what));
    };
    if (!spec.is_object()) throw where("expected an object of options");
    Options o = defaults;
    for (const auto& [key, value] : spec.items()) {
      if ((key == "entry" || key == "style" || key == "layout") && !value.is_string())
        throw where(fmt::format("`{}` must be a string", key));
      if (key == "entry") o.entry = value.get<std::string>();
      else if (key == "style") o.style = value.get<std::string>();
      else if (key == "layout") o.layout = value.get<std::string>();
      else if (key == "lazy" && value.is_boolean()) o.lazy = value.get<bool>();
      else if (key == "input_shape") {
        std::vector<std::string> specs;
        if (value.is_string()) specs.push_back(value.get<std::string>());
        else if (value.is_array() && std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_string(); }))
          specs = value.get<std::vector<std::string>>();
        else
          throw where("`input_shape` is a string like \"3,64,64\" or a list of them, one per input");
        o.input_shapes.clear();
        try {
          for (const auto& s : specs) o.input_shapes.push_back(parse_input_spec(s));
        } catch (const std::invalid_argument& e) {
          throw where(e.what());
        }
      } else {
        throw where(fmt::format("unknown option `{}` (entry, input_shape, style, layout, lazy)", key));
      }
    }
    out[file] = o;
  }
  return out;
}

// --- the run --------------------------------------------------------------------------------

int run_batch(const BatchOptions& bo) {
  auto start = Clock::now();
  std::string error;
  std::vector<Job> jobs = collect(bo, error);
  if (!error.empty()) {
    std::cerr << "error: " << error << "\n";
    return 2;
  }
  if (!bo.manifest.empty()) {
    std::map<std::string, Options> manifest;
    try {
      manifest = read_manifest(bo.manifest, bo.convert);
    } catch (const std::invalid_argument& e) {
      std::cerr << "error: " << e.what() << "\n";
      return 2;
    }
    for (auto& job : jobs) {
      auto it = manifest.find(job.rel);
      if (it == manifest.end()) continue;
      job.options = it->second;
      manifest.erase(it);
    }
    for (const auto& [file, _] : manifest)
      std::cerr << fmt::format("warning: {}: the manifest names `{}`, which is not among the files\n", bo.manifest, file);
  }

  unsigned threads = bo.jobs ? bo.jobs : std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::max<size_t>(1, std::min<size_t>(threads, jobs.size())));
  std::vector<Outcome> outcomes(jobs.size());
  Progress progress(jobs.size());
  std::atomic<size_t> next{0}, running{threads};
  std::mutex mutex;
  std::condition_variable finished;
  {
    StopSignals signals;
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t)
      pool.emplace_back([&] {
        for (size_t i; !g_stop && (i = next++) < jobs.size();) {
          outcomes[i] = migrate_one(jobs[i]);
          progress.done(jobs[i], outcomes[i]);
        }
        std::lock_guard<std::mutex> lock(mutex);
        --running;
        finished.notify_one();
      });
    std::unique_lock<std::mutex> lock(mutex);
    while (running > 0) {
      finished.wait_for(lock, std::chrono::milliseconds(100));
      lock.unlock();
      progress.draw();
      lock.lock();
    }
    lock.unlock();
    for (auto& t : pool) t.join();
    progress.draw(/*final=*/true);
  }
  bool interrupted = g_stop;
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  Counts c = count(outcomes);
  std::cout << summary(c, jobs.size(), seconds, threads, interrupted, top_failures(outcomes, 5))
            << failed_files(jobs, outcomes, 10);
  if (!bo.report.empty()) {
    std::string text = report_json(bo, jobs, outcomes, c, seconds, threads, interrupted).dump(2) + "\n";
    if (!write_file_atomically(bo.report, text, error)) {
      std::cerr << "error: " << error << "\n";
      return 2;
    }
    std::cout << "report: " << bo.report << "\n";
  }
  std::cout.flush();
  if (interrupted) return 130;
  return c.failed ? 1 : 0;
}

}  // namespace nnport
