//! Commands the target file asks the harness to run: reading an order (`[observe].read_order`)
//! or creating one (`[observe].create_order`) for apps whose orders have no JSON route, and the
//! placeholders that give each instance of a started app (`--jobs`) its own port and files.
//!
//! A command runs in the app's folder with the app's environment, within the call timeout, and
//! its output is read up to the answer cap. Values go into a command as placeholders (`{id}`)
//! and as environment variables (`$ORDER_ID`): in an argument list any value is one argument; in
//! a line run by `sh -c` only a value made of letters, digits and `-._:@+` is put in, and any
//! other is refused rather than quoted behind the author's back (use the variable then).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;

use crate::target_file::Command;

/// Where and with what a command runs.
#[derive(Debug, Clone, Default)]
pub struct CommandContext {
    /// The app's folder.
    pub cwd: Option<PathBuf>,
    /// The app's environment (`PORT`, `STRIPE_*`, `[start].env`).
    pub env: Vec<(String, String)>,
    /// `{job}`, `{port}`, `{tmp}` of the app's instance.
    pub instance: Vec<(&'static str, String)>,
}

/// What a command printed.
#[derive(Debug, Clone)]
pub struct CommandOutput {
    pub stdout: String,
    pub truncated: bool,
    pub latency: Duration,
}

/// `text` with every placeholder replaced by its value.
pub fn fill_text(text: &str, values: &[(&str, String)]) -> String {
    let mut out = text.to_string();
    for (placeholder, value) in values {
        out = out.replace(placeholder, value);
    }
    out
}

/// A value `sh -c` reads as one word, unquoted.
fn shell_safe(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:@+/".contains(&b))
}

/// The program and its arguments, placeholders filled in.
pub fn fill_command(
    command: &Command,
    values: &[(&str, String)],
) -> Result<(String, Vec<String>), String> {
    match command {
        Command::Argv(argv) => {
            let mut words = argv.iter().map(|w| fill_text(w, values));
            let program = words.next().ok_or("the command is empty")?;
            Ok((program, words.collect()))
        }
        Command::Shell(line) => {
            for (placeholder, value) in values {
                if line.contains(placeholder) && !shell_safe(value) {
                    return Err(format!(
                        "{placeholder} is {value:?}, which a line run by sh -c cannot carry unquoted: write the command as a list of arguments, or use its environment variable"
                    ));
                }
            }
            Ok(("sh".to_string(), vec!["-c".into(), fill_text(line, values)]))
        }
    }
}

/// Runs `command` with `values` (placeholders, and `env` variables), within `timeout`, reading
/// its standard output up to `cap` bytes. A command that fails, or does not finish in time
/// (then it is killed), is an error with what it printed on standard error.
pub async fn run(
    command: &Command,
    context: &CommandContext,
    values: &[(&str, String)],
    env: &[(&str, String)],
    timeout: Duration,
    cap: usize,
) -> Result<CommandOutput, String> {
    let mut all: Vec<(&str, String)> = context.instance.clone();
    all.extend(values.iter().cloned());
    let (program, args) = fill_command(command, &all)?;
    let mut child = tokio::process::Command::new(&program);
    child
        .args(&args)
        .envs(context.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(cwd) = &context.cwd {
        child.current_dir(cwd);
    }
    let started = Instant::now();
    let mut child = child
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err("the command's output could not be read".into());
    };
    let work = async {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
        let mut stdout = (&mut stdout).take(limit);
        let mut stderr = (&mut stderr).take(limit);
        let child = &mut child;
        let read_out = async {
            let read = stdout.read_to_end(&mut out).await;
            if out.len() > cap {
                // It prints more than an answer may hold: it is not read further (it would
                // block writing, and never exit).
                let _ = child.start_kill();
            }
            read
        };
        let (read_out, _) = tokio::join!(read_out, stderr.read_to_end(&mut err));
        read_out.map_err(|e| format!("reading its output: {e}"))?;
        let status = child
            .wait()
            .await
            .map_err(|e| format!("waiting for it: {e}"))?;
        Ok::<_, String>((status, out, err))
    };
    let (status, mut out, err) = match tokio::time::timeout(timeout, work).await {
        Ok(result) => result?,
        Err(_) => {
            return Err(format!(
                "{program} did not finish within {} s",
                timeout.as_secs()
            ))
        }
    };
    let truncated = out.len() > cap;
    if !status.success() && !truncated {
        let err = String::from_utf8_lossy(&err);
        return Err(format!(
            "{program} exited with {status}: {}",
            crate::trace::one_line(err.trim(), 300)
        ));
    }
    out.truncate(cap);
    Ok(CommandOutput {
        stdout: String::from_utf8_lossy(&out).into_owned(),
        truncated,
        latency: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_fill_arguments_and_unsafe_values_stay_out_of_shell_lines() {
        let argv = Command::Argv(vec!["q".into(), "id = '{id}'".into()]);
        let values = [("{id}", "a b'; rm".to_string())];
        assert_eq!(
            fill_command(&argv, &values).unwrap(),
            ("q".to_string(), vec!["id = 'a b'; rm'".to_string()])
        );
        let shell = Command::Shell("q {id}".into());
        assert!(fill_command(&shell, &values).unwrap_err().contains("{id}"));
        let safe = [("{id}", "c766bb75-9401".to_string())];
        assert_eq!(
            fill_command(&shell, &safe).unwrap().1,
            vec!["-c".to_string(), "q c766bb75-9401".to_string()]
        );
    }

    #[tokio::test]
    async fn a_command_prints_its_answer_and_a_failure_says_why() {
        let context = CommandContext::default();
        let ok = run(
            &Command::Shell("echo \"{\\\"id\\\": \\\"$ORDER_ID\\\"}\"".into()),
            &context,
            &[],
            &[("ORDER_ID", "o-1".to_string())],
            Duration::from_secs(5),
            1024,
        )
        .await
        .unwrap();
        assert_eq!(ok.stdout.trim(), "{\"id\": \"o-1\"}");
        let failed = run(
            &Command::Shell("echo no such table >&2; exit 3".into()),
            &context,
            &[],
            &[],
            Duration::from_secs(5),
            1024,
        )
        .await
        .unwrap_err();
        assert!(
            failed.contains("exit status: 3") && failed.contains("no such table"),
            "{failed}"
        );
    }
}
