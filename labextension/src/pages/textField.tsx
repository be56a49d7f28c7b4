/**
 * The forms' labelled fields: a one-line text input (its label above it, its hint as its
 * tooltip), the same bound to one key of a form's values (`BoundField` for a form's state object,
 * `FormField` for a values record), and the choice of a workspace secret.
 */

import * as React from 'react';

export interface ITextFieldProps {
  label: string;
  /** the input's class (tests and styles find it by it) */
  className: string;
  value: string;
  onChange: (value: string) => void;
  placeholder?: string;
  hint?: string;
  required?: boolean;
  disabled?: boolean;
  inputMode?: 'numeric';
  /** the id of a <datalist> of suggestions */
  list?: string;
  inputRef?: React.Ref<HTMLInputElement>;
}

export function TextField(props: ITextFieldProps): JSX.Element {
  return (
    <label className="mlws-FormField">
      <span>{props.label}</span>
      <input
        ref={props.inputRef}
        className={props.className}
        value={props.value}
        placeholder={props.placeholder}
        required={props.required}
        disabled={props.disabled}
        inputMode={props.inputMode}
        list={props.list}
        spellCheck={false}
        autoComplete="off"
        title={props.hint}
        onChange={e => props.onChange(e.target.value)}
      />
    </label>
  );
}

/** A `TextField` bound to `form[name]` (a text), changed through `set`; its class `${prefix}-${name}`. */
export function BoundField<F>(
  props: Omit<ITextFieldProps, 'className' | 'value' | 'onChange'> & {
    form: F;
    name: keyof F & string;
    set: (patch: Partial<F>) => void;
    prefix: string;
  }
): JSX.Element {
  const { form, name, set, prefix, ...rest } = props;
  return (
    <TextField
      className={`${prefix}-${name}`}
      value={String(form[name] ?? '')}
      onChange={value => set({ [name]: value } as unknown as Partial<F>)}
      {...rest}
    />
  );
}

/** What binds a {@link FormField} to its form: the form's values, their setter, and the classes' prefix. */
export interface IFormBinding<K extends string> {
  values: Record<K, string>;
  set: (name: K, value: string) => void;
  /** the inputs' class is `${prefix}-${name}` */
  prefix: string;
  disabled: boolean;
}

/** A {@link TextField} showing and setting `values[name]` of its form. */
export function FormField<K extends string>(
  props: IFormBinding<K> & { name: K } & Omit<ITextFieldProps, 'className' | 'value' | 'onChange'>
): JSX.Element {
  const { name, values, set, prefix, ...rest } = props;
  return <TextField className={`${prefix}-${name}`} value={values[name]} onChange={v => set(name, v)} {...rest} />;
}

/** A labelled choice of one of the workspace's secrets, "(none)" first. */
export function SecretField(props: {
  label: string;
  className: string;
  value: string;
  secrets: readonly { name: string }[];
  /** what the secret holds (the tooltip) */
  hint: string;
  disabled: boolean;
  onChange: (name: string) => void;
}): JSX.Element {
  return (
    <label className="mlws-FormField">
      <span>{props.label}</span>
      <select
        className={props.className}
        value={props.value}
        disabled={props.disabled}
        title={props.hint}
        onChange={e => props.onChange(e.target.value)}
      >
        <option value="">(none)</option>
        {props.secrets.map(s => (
          <option key={s.name} value={s.name}>
            {s.name}
          </option>
        ))}
      </select>
    </label>
  );
}
