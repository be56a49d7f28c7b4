/**
 * The forms' labelled one-line text input: its label above it, its hint as its tooltip;
 * `BoundField`: one bound to a field of a form's state.
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
